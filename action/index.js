import { access, appendFile, lstat, mkdir, mkdtemp, open, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createHash, randomBytes } from "node:crypto";
import { constants, existsSync } from "node:fs";
import { pathToFileURL } from "node:url";

// src/cli/kubevend/exit.ts
const exitCodes = {
	ok: 0,
	/** Anything else: a file that cannot be written, an audit ledger whose chain is broken. */
	failed: 1,
	/** The command line or the request was wrong: an unknown flag, no identity token, a 400. */
	usage: 2,
	/** The service said no: 401, 403, 404 (not a pipeline of this identity, suspended, unknown cluster...). */
	refused: 3,
	/** The service could not be reached or kept answering 429/5xx until the deadline. */
	unavailable: 4
};
/** A failure the command reports in one line on stderr and ends with its class's exit code. */
var CliError = class extends Error {
	exitClass;
	constructor(exitClass, message) {
		super(message);
		this.exitClass = exitClass;
	}
};
/** The class of an HTTP status the service answered with (after any retries). */
function classOfStatus(status) {
	if (status === 401 || status === 403 || status === 404 || status === 409) return "refused";
	if (status >= 400 && status < 500 && status !== 408 && status !== 429) return "usage";
	return "unavailable";
}

// src/cli/kubevend/options.ts
/** Flags every command that calls the service takes. */
const serviceFlags = {
	url: { type: "string" },
	deadline: { type: "string" },
	"insecure-http": { type: "boolean" }
};
/** Flags of the commands that present a CI identity token. */
const tokenFlags = {
	audience: { type: "string" },
	"token-file": { type: "string" },
	"token-env": { type: "string" },
	"gitlab-token-var": { type: "string" }
};
/** Parses argv strictly: an unknown flag or a stray argument is a usage error, not ignored. */
function parseFlags(args, options, positionals = 0) {
	try {
		const parsed = parseArgs({
			args,
			options,
			strict: true,
			allowPositionals: positionals > 0
		});
		if (parsed.positionals.length > positionals) throw new Error(`unexpected argument "${parsed.positionals[positionals]}"`);
		return parsed;
	} catch (err) {
		throw new CliError("usage", err.message);
	}
}
/** `90`, `90s`, `15m`, `1h` in milliseconds. */
function durationMs(value, flag) {
	const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
	if (!match) throw new CliError("usage", `--${flag} takes a duration such as 90s, 15m or 1h (got "${value}")`);
	const unit = {
		ms: 1,
		s: 1e3,
		m: 6e4,
		h: 36e5
	}[match[2] ?? "s"];
	return Number(match[1]) * unit;
}
function serviceOf(values, env, say) {
	const url = values.url ?? env.KUBEVEND_URL;
	if (!url) throw new CliError("usage", "name the service with --url or KUBEVEND_URL");
	if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new CliError("usage", `--url must be an https URL (got "${url}")`);
	const insecure = values["insecure-http"] === true || env.KUBEVEND_INSECURE_HTTP === "true";
	if (new URL(url).protocol === "http:" && !isLoopback(new URL(url).hostname) && !insecure) throw new CliError("usage", `--url must be https: over http (${url}) the token would travel in clear; --insecure-http allows it for local tests`);
	return {
		url,
		deadlineMs: durationMs(values.deadline ?? env.KUBEVEND_DEADLINE ?? "60s", "deadline"),
		say
	};
}
function tokenChoiceOf(values, env) {
	return {
		audience: values.audience ?? env.KUBEVEND_AUDIENCE ?? "kubevend",
		tokenFile: values["token-file"],
		tokenEnv: values["token-env"],
		gitlabVariable: values["gitlab-token-var"] ?? env.KUBEVEND_GITLAB_TOKEN_VAR ?? "KUBEVEND_ID_TOKEN"
	};
}
/** localhost, 127.0.0.0/8 and ::1: a service on this machine. */
function isLoopback(hostname) {
	return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

// src/cli/kubevend/ci.ts
function ciSystemOf(env) {
	if (env.GITHUB_ACTIONS === "true") return "github";
	if (env.GITLAB_CI === "true") return "gitlab";
	return "other";
}
/**
* Finds the CI system's identity token: an explicit file or variable first, then GitHub's token
* endpoint, then GitLab's `id_tokens` variable. Every token it hands out is masked in GitHub's log.
*/
function identityTokens(choice, env, mask) {
	const masked = (source, renewable, read) => ({
		source,
		renewable,
		async next() {
			const token = (await read()).trim();
			if (!token) throw new CliError("usage", `the identity token from ${source} is empty`);
			mask(token);
			return token;
		}
	});
	if (choice.tokenFile) {
		const file = choice.tokenFile;
		return masked(`file ${file}`, true, () => readFile(file, "utf8").catch((err) => {
			throw new CliError("usage", `cannot read the identity token file ${file} (${err.code ?? err.message})`);
		}));
	}
	if (choice.tokenEnv) {
		const name = choice.tokenEnv;
		return masked(`variable ${name}`, false, async () => {
			if (!env[name]) throw new CliError("usage", `the variable ${name} named by --token-env is not set`);
			return env[name];
		});
	}
	const system = ciSystemOf(env);
	if (system === "github") {
		const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
		const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
		if (!url || !bearer) throw new CliError("usage", "GitHub Actions gives this job no identity token: add `permissions: { id-token: write }` to the job");
		return masked("GitHub Actions", true, () => githubIdToken(url, bearer, choice.audience));
	}
	if (system === "gitlab") {
		const name = choice.gitlabVariable;
		return masked(`GitLab id_tokens variable ${name}`, false, async () => {
			if (!env[name]) throw new CliError("usage", `GitLab gives this job no ${name}: declare \`id_tokens: { ${name}: { aud: ${choice.audience} } }\` in the job`);
			return env[name];
		});
	}
	throw new CliError("usage", "no identity token: outside GitHub Actions and GitLab CI, pass --token-file or --token-env");
}
/**
* Who asks, without spending or asking for a token: a cache of credentials is kept apart per
* holder, so that jobs of other pipelines sharing a runner's home never get each other's. The CI
* system's job (GitHub's run and job, GitLab's job id) and the issuer and subject of the identity
* token at hand (a file, a variable, GitLab's id_tokens variable; read, not verified: it only picks
* a cache entry). Undefined, so no cache, when a token at hand is not a JWT: the token itself never
* keys a cache.
*/
async function holderOf(choice, env) {
	const system = ciSystemOf(env);
	const job = system === "github" ? [
		"github",
		env.GITHUB_REPOSITORY,
		env.GITHUB_RUN_ID,
		env.GITHUB_RUN_ATTEMPT,
		env.GITHUB_JOB
	] : system === "gitlab" ? [
		"gitlab",
		env.CI_SERVER_URL,
		env.CI_JOB_ID
	] : ["none"];
	const token = choice.tokenFile ? await readFile(choice.tokenFile, "utf8").catch(() => "") : choice.tokenEnv ? env[choice.tokenEnv] ?? "" : system === "gitlab" ? env[choice.gitlabVariable] ?? "" : void 0;
	if (token === void 0) return system === "github" ? JSON.stringify(job) : void 0;
	try {
		const { iss, sub } = JSON.parse(Buffer.from(token.trim().split(".")[1] ?? "", "base64url").toString("utf8"));
		if (typeof iss === "string" && typeof sub === "string") return JSON.stringify([
			...job,
			iss,
			sub
		]);
	} catch {}
}
/** Asks GitHub's token endpoint for an ID token for `audience`, as GitHub's own toolkit does. */
async function githubIdToken(requestUrl, bearer, audience) {
	let response;
	try {
		response = await fetch(`${requestUrl}&audience=${encodeURIComponent(audience)}`, {
			headers: {
				authorization: `bearer ${bearer}`,
				accept: "application/json; api-version=2.0",
				"user-agent": "kubevend-cli"
			},
			signal: AbortSignal.timeout(2e4)
		});
	} catch (err) {
		throw new CliError("unavailable", `GitHub's ID token endpoint cannot be reached: ${err.message}`);
	}
	if (!response.ok) {
		await response.body?.cancel();
		throw new CliError(response.status >= 500 ? "unavailable" : "refused", `GitHub's ID token endpoint answered ${response.status}`);
	}
	const body = await response.json().catch(() => ({}));
	if (typeof body.value !== "string") throw new CliError("unavailable", "GitHub's ID token endpoint answered without a token");
	return body.value;
}
/** A workflow command's data, escaped as GitHub's toolkit does: the runner reads it back as it was. */
const escapeData = (text) => text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
function ciSurface(env, stdout, dotenv) {
	const system = ciSystemOf(env);
	const line = (name, value) => {
		if (/[\r\n]/.test(value)) throw new CliError("failed", `the value of ${name} holds a line break`);
		return `${name}=${value}\n`;
	};
	return {
		system,
		mask: (secret) => {
			if (system === "github") for (const part of secret.split(/\r?\n/).filter(Boolean)) stdout(`::add-mask::${escapeData(part)}\n`);
		},
		async exportVariable(name, value) {
			if (system === "github" && env.GITHUB_ENV) await appendFile(env.GITHUB_ENV, line(name, value));
			else stdout(`export ${name}='${value.replaceAll("'", "'\\''")}'\n`);
			if (dotenv) await appendFile(dotenv, line(name, value));
		},
		async setOutput(name, value) {
			if (system === "github" && env.GITHUB_OUTPUT) await appendFile(env.GITHUB_OUTPUT, line(name, value));
		}
	};
}
/** The job's identity token for one call, masked in GitHub's log: for commands other than `credentials`. */
function jobToken(values, env, stdout) {
	const tokens = identityTokens(tokenChoiceOf(values, env), env, ciSurface(env, stdout).mask);
	return () => tokens.next();
}

// src/cli/kubevend/files.ts
const myUid = () => process.getuid?.();
/**
* A folder of the command's own (a job's folder, a cache, a lock's, the login's), made 0700 if
* absent. One that exists is used only if this user owns it, it is no symlink and nobody else may
* enter it: a co-tenant who made it first could read, swap or delete what is written in it.
*/
async function privateDir(dir) {
	await mkdir(dir, {
		recursive: true,
		mode: 448
	});
	const found = await lstat(dir);
	if (!found.isDirectory() || myUid() !== void 0 && found.uid !== myUid() || (found.mode & 63) !== 0) throw new CliError("failed", `${dir} exists but is not a folder only this user can use; nothing was written`);
	return dir;
}
/**
* The folder of a file the caller named (--file), made 0700 if absent. It may be shared (a
* workspace, /tmp), but only if nobody else can replace what is written there: it belongs to this
* user or root and, if others may write in it, it has the sticky bit.
*/
async function callersDir(dir) {
	await mkdir(dir, {
		recursive: true,
		mode: 448
	});
	const found = await stat(dir);
	if (!(found.uid === 0 || myUid() === void 0 || found.uid === myUid()) || (found.mode & 18) !== 0 && (found.mode & 512) === 0) throw new CliError("failed", `${dir} belongs to another user or others may replace files in it; nothing was written: name a --file in a folder of your own, or none for the job's private folder`);
	return dir;
}
/** Opens a new file that no one made before and that is no symlink: mode 0600, whatever the umask. */
async function createExclusive(path) {
	const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 384);
	await file.chmod(384);
	return file;
}
/**
* Writes a secret (a kubeconfig, a cached credential) readable by its owner only: into a new file
* made with mode 0600 beside the target, then renamed over it. A rename replaces a symlink at the
* target rather than writing through it, so a link planted there cannot redirect the secret. The
* folder is checked first (callersDir): its owner or a co-tenant who may write there could swap it.
*/
async function writePrivateFile(path, content) {
	await callersDir(dirname(path));
	const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
	const file = await createExclusive(temporary);
	try {
		await file.writeFile(content);
		await file.sync();
	} finally {
		await file.close();
	}
	try {
		await rename(temporary, path);
	} catch (err) {
		await rm(temporary, { force: true });
		throw err;
	}
}
/**
* Reads a file this command wrote with writePrivateFile: undefined when it is absent, a symlink,
* not a regular file, not the caller's own, or readable by others (another user could have written
* it, or read it). `why` is told the reason a file that exists was not read.
*/
async function readPrivateFile(path, why = () => {}) {
	let file;
	try {
		file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
	} catch (err) {
		const code = err.code;
		if (code === "ELOOP") why(`${path} is a symlink; it is not followed`);
		else if (code !== "ENOENT") why(`${path} cannot be read (${code})`);
		return;
	}
	try {
		const stat = await file.stat();
		if (!stat.isFile()) return void why(`${path} is not a regular file`);
		if ((stat.mode & 63) !== 0) return void why(`${path} is readable by others; it is not used`);
		if (myUid() !== void 0 && stat.uid !== myUid()) return void why(`${path} belongs to another user; it is not used`);
		return await file.readFile("utf8");
	} finally {
		await file.close();
	}
}
/**
* An exclusive lock file in a folder checked with privateDir; one left by a process that died is
* taken over after a minute. Answers the release.
*/
async function lockFile(path, waitMs, sleep) {
	const until = Date.now() + waitMs;
	for (;;) {
		try {
			await (await createExclusive(path)).close();
			return () => rm(path, { force: true });
		} catch (err) {
			if (err.code !== "EEXIST") throw err;
		}
		if (await lstat(path).then((s) => Date.now() - s.mtimeMs, () => 0) > 6e4) await rm(path, { force: true });
		else if (Date.now() > until) throw new CliError("unavailable", `another kubevend holds ${path}`);
		else await sleep(100);
	}
}

// src/cli/kubevend/kubeconfig.ts
/** Fields of a kubeconfig user that hold a secret, masked in a CI log. */
const secretFields = /* @__PURE__ */ new Set([
	"token",
	"client-key-data",
	"password",
	"id-token",
	"refresh-token",
	"client-secret"
]);
/** Fields that make kubectl run a program or fetch a token elsewhere: never in a vended credential. */
const refusedFields = /* @__PURE__ */ new Set([
	"exec",
	"auth-provider",
	"tokenFile"
]);
/**
* The secrets of a kubeconfig, or undefined when it cannot be read with certainty: a line that is
* not a `key: value` of the subset, a user without a token or client key, a value in a YAML form
* (flow, anchor, alias, tag, block scalar) that could hide one, or a field that runs a program.
*/
function kubeconfigSecrets(text) {
	const found = {
		secrets: [],
		tokens: []
	};
	const users = [];
	let section = "";
	let itemIndent;
	const sections = /* @__PURE__ */ new Set();
	for (const line of text.split("\n")) {
		if (/^\s*(#.*)?$/.test(line)) continue;
		const m = /^( *)(- +)?([A-Za-z][\w.-]*): *(.*?) *$/.exec(line);
		if (!m) {
			if (section !== "users" && /^ +- +\S/.test(line) && scalar(line.replace(/^ +- +/, "")) !== void 0) continue;
			return;
		}
		const [, spaces, dash, key, value] = m;
		if (!spaces && !dash) {
			if (sections.has(key)) return void 0;
			sections.add(key);
			section = key;
			itemIndent = void 0;
			if (section === "users" && value) return void 0;
			continue;
		}
		if (section !== "users") {
			if (value && scalar(value) === void 0 && !/^(\{\}|\[\])$/.test(value)) return void 0;
			continue;
		}
		if (refusedFields.has(key)) return void 0;
		if (dash) {
			itemIndent ??= spaces.length;
			if (spaces.length === itemIndent) users.push({ credential: false });
		}
		const user = users.at(-1);
		if (!user) return void 0;
		if (!value) continue;
		const parsed = scalar(value);
		if (parsed === void 0) return void 0;
		if (secretFields.has(key)) {
			found.secrets.push(parsed);
			if (key === "token") found.tokens.push(parsed);
			if (key === "token" || key === "client-key-data") user.credential = true;
		}
	}
	if (!users.length || users.some((u) => !u.credential)) return void 0;
	return found;
}
/** A YAML scalar: double-quoted (JSON's escapes), single-quoted, or plain; undefined for anything else. */
function scalar(value) {
	if (value.startsWith("\"")) try {
		const parsed = JSON.parse(value);
		return typeof parsed === "string" ? parsed : void 0;
	} catch {
		return;
	}
	if (value.startsWith("'")) {
		const quoted = /^'((?:[^']|'')*)'$/.exec(value);
		return quoted ? quoted[1].replaceAll("''", "'") : void 0;
	}
	if (/^[{[&*!|>%@`#,?:-]/.test(value)) return void 0;
	return value.replace(/\s+#.*$/, "").trim() || void 0;
}

// src/cli/kubevend/service.ts
/** Statuses that say "later": a rate limit, or a service at capacity or waiting on a dependency. */
const retryable = /* @__PURE__ */ new Set([429, 503]);
/**
* Calls the service, retrying 429 and 503 (honouring Retry-After) and unreachable moments until the
* deadline. Answers the response of a 2xx, its body unread; throws a CliError of the refusal's class
* otherwise, naming the problem's code, detail and request id.
*/
async function callService(options, call) {
	const deadline = Date.now() + options.deadlineMs;
	const url = new URL(call.path.replace(/^\//, ""), options.url.endsWith("/") ? options.url : `${options.url}/`);
	for (let attempt = 1;; attempt++) {
		const remaining = deadline - Date.now();
		let response;
		let wait;
		let why;
		try {
			const token = await call.token();
			response = await fetch(url, {
				method: call.method,
				headers: {
					authorization: `Bearer ${token}`,
					accept: call.accept ?? "application/json",
					"user-agent": "kubevend-cli",
					...call.body === void 0 ? {} : { "content-type": "application/json" }
				},
				...call.body === void 0 ? {} : { body: JSON.stringify(call.body) },
				redirect: "manual",
				signal: AbortSignal.timeout(Math.max(remaining, 1))
			});
		} catch (err) {
			if (err instanceof CliError) throw err;
			why = describeNetworkError(err);
			if (Date.now() >= deadline) throw new CliError("unavailable", `${options.url} could not be reached within ${seconds(options.deadlineMs)}: ${why}`);
			wait = Math.min(backoff(attempt), deadline - Date.now());
			options.say(`${why}; trying again in ${seconds(wait)}`);
			await sleep(wait);
			continue;
		}
		if (response.ok) return response;
		if (response.status >= 300 && response.status < 400) {
			await response.body?.cancel();
			throw new CliError("usage", `${options.url} answered ${response.status}, redirecting to ${response.headers.get("location") ?? "nowhere"}; the token is not sent on: give --url the service's own address`);
		}
		const facts = await problemOf(response);
		if (!retryable.has(response.status)) throw new CliError(classOfStatus(response.status), describeProblem(facts));
		wait = retryAfterMs(response.headers.get("retry-after")) ?? backoff(attempt);
		if (Date.now() + wait >= deadline) throw new CliError("unavailable", `${describeProblem(facts)}; gave up: a retry in ${seconds(wait)} would pass the deadline of ${seconds(options.deadlineMs)}`);
		options.say(`${response.status} ${facts.code ?? ""}: trying again in ${seconds(wait)}`.replace(" :", ":"));
		await sleep(wait);
	}
}
/** The problem+json of a refusal; of anything else (a proxy's page), only the status. */
async function problemOf(response) {
	const facts = { status: response.status };
	const requestId = response.headers.get("x-request-id");
	if (requestId) facts.requestId = requestId;
	if (/json/i.test(response.headers.get("content-type") ?? "")) try {
		const body = await response.json();
		if (typeof body.code === "string") facts.code = body.code;
		if (typeof body.detail === "string") facts.detail = body.detail;
	} catch {}
	else await response.body?.cancel();
	return facts;
}
function describeProblem(f) {
	return `${`${f.status}${f.code ? ` ${f.code}` : ""}`}${f.detail ? `: ${f.detail}` : ""}${f.requestId ? ` (request id ${f.requestId})` : ""}`;
}
function describeNetworkError(err) {
	const e = err;
	if (e.name === "TimeoutError" || e.name === "AbortError") return "no answer in time";
	return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
function retryAfterMs(value) {
	if (!value) return void 0;
	if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1e3;
	const at = Date.parse(value);
	return Number.isNaN(at) ? void 0 : Math.max(0, at - Date.now());
}
/** 0.5 s, 1 s, 2 s ... at most 10 s, with jitter so that a fleet of jobs does not come back at once. */
function backoff(attempt) {
	const base = Math.min(500 * 2 ** (attempt - 1), 1e4);
	return Math.round(base * (.75 + Math.random() * .5));
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms) => `${Math.round(ms / 100) / 10}s`;

// src/cli/kubevend/state.ts
/**
* Where a job's kubeconfig and state live: a folder in the runner's per-job temporary folder on
* GitHub, a folder named after the job on GitLab (its after_script runs in a shell of its own and
* finds it there), a new private folder elsewhere. A folder of a known name is used only if this
* user made it so (privateDir): someone else's in a shared TMPDIR is refused.
*/
async function jobDir(env) {
	const known = knownJobDir(env);
	return known ? privateDir(known) : mkdtemp(join(tmpdir(), "kubevend-"));
}
/** The job's folder where the CI system names the job; undefined elsewhere. */
function knownJobDir(env) {
	if (env.GITHUB_ACTIONS === "true" && env.RUNNER_TEMP) return join(env.RUNNER_TEMP, "kubevend");
	if (env.GITLAB_CI === "true" && env.CI_JOB_ID) return join(env.TMPDIR || tmpdir(), `kubevend-job-${env.CI_JOB_ID}`);
}
const stateFileIn = (dir) => join(dir, "state.json");
/**
* Adds issuances to the job's state. Several commands of one job (two `credentials`, kubectl's
* plugin runs) share it, so it is read and rewritten under a lock: none loses another's issuance.
*/
async function recordIssued(file, issued) {
	await updateState(file, (known) => [...known, ...issued]);
}
/** Drops revoked issuances from the state; the file goes once none is left. */
async function forgetIssued(file, revoked) {
	await updateState(file, (known) => known.filter((k) => !revoked.some((r) => r.id === k.id && r.url === k.url)));
}
async function updateState(file, change) {
	const release = await lockFile(`${file}.lock`, 3e4, sleep);
	try {
		const text = await readPrivateFile(file);
		const next = change(text === void 0 ? [] : issuedIn(text, file));
		if (next.length) await writePrivateFile(file, `${JSON.stringify({ issued: next })}\n`);
		else await rm(file, { force: true });
	} finally {
		await release();
	}
}
async function loadState(file) {
	const text = await readPrivateFile(file, (reason) => {
		throw new CliError("usage", `the job state cannot be used: ${reason}`);
	});
	if (text === void 0) throw new CliError("usage", `no job state at ${file}: nothing was issued by \`kubevend credentials\` in this job`);
	return issuedIn(text, file);
}
/** The issuances of a state file; also one written by an earlier version (one URL, a list of ids). */
function issuedIn(text, file) {
	const state = JSON.parse(text);
	if (Array.isArray(state.issued) && state.issued.every((i) => typeof i.url === "string" && typeof i.id === "string")) return state.issued;
	if (typeof state.url === "string" && Array.isArray(state.issuances)) return state.issuances.map((id) => ({
		url: state.url,
		id,
		...state.expiresAt ? { expiresAt: state.expiresAt } : {}
	}));
	throw new CliError("usage", `${file} is not kubevend's job state`);
}

// src/cli/kubevend/credentials.ts
const formats = [
	"kubeconfig",
	"env",
	"exec-credential"
];
/** The flags that narrow the grant, as the request body's fields do. */
const askFlags = {
	cluster: {
		type: "string",
		multiple: true
	},
	namespace: { type: "string" },
	"service-account": { type: "string" },
	ttl: { type: "string" },
	kind: { type: "string" }
};
const credentialFlags = {
	...serviceFlags,
	...tokenFlags,
	...askFlags,
	format: { type: "string" },
	file: { type: "string" },
	dotenv: { type: "string" }
};
/** The request body's narrowing of the grant, from the flags. */
function askOf(values) {
	const clusters = (values.cluster ?? []).flatMap((c) => c.split(",")).map((c) => c.trim()).filter(Boolean);
	if (values.kind && values.kind !== "short-lived" && values.kind !== "durable") throw new CliError("usage", "--kind is short-lived or durable");
	return {
		...clusters.length === 1 ? { cluster: clusters[0] } : clusters.length > 1 ? { clusters } : {},
		...values.namespace ? { namespace: values.namespace } : {},
		...values["service-account"] ? { serviceAccount: values["service-account"] } : {},
		...values.ttl ? { ttlSeconds: Math.round(durationMs(values.ttl, "ttl") / 1e3) } : {},
		...values.kind ? { kind: values.kind } : {}
	};
}
/** `kubevend credentials`: vends a credential for this CI job and hands it to the job's later steps. */
async function credentialsCommand(args, ctx) {
	const { values } = parseFlags(args, credentialFlags);
	const format = values.format ?? "kubeconfig";
	if (!formats.includes(format)) throw new CliError("usage", `--format is one of ${formats.join(", ")}`);
	const ask = askOf(values);
	if (format === "exec-credential" && "clusters" in ask) throw new CliError("usage", "an ExecCredential holds one cluster's token: name one --cluster");
	const service = serviceOf(values, ctx.env, ctx.say);
	const ci = ciSurface(ctx.env, ctx.stdout, values.dotenv);
	const tokens = identityTokens(tokenChoiceOf(values, ctx.env), ctx.env, ci.mask);
	const dir = values.file && values.file !== "-" ? await callersDir(dirname(resolve(values.file))) : await jobDir(ctx.env);
	const file = values.file === "-" ? "-" : resolve(values.file ?? join(dir, defaultName[format]));
	const issued = readAnswer(format, await (await callService(service, {
		method: "POST",
		path: "/v1/credentials",
		token: () => tokens.next(),
		body: {
			...ask,
			format: format === "kubeconfig" ? "json" : format
		}
	})).text());
	for (const secret of issued.secrets) ci.mask(secret);
	if (issued.ignored.length) ctx.say(`ignored variables kubevend does not set: ${issued.ignored.join(", ")}`);
	if (file === "-") ctx.stdout(issued.content);
	else await writePrivateFile(file, issued.content);
	const stateFile = stateFileIn(dir);
	if (issued.issuances.length) await recordIssued(stateFile, issued.issuances.map((id) => ({
		url: service.url,
		id,
		...issued.expiresAt ? { expiresAt: issued.expiresAt } : {}
	})));
	if (file !== "-" && format === "kubeconfig") await ci.exportVariable("KUBECONFIG", file);
	if (format === "env" && file !== "-") await ci.exportVariable("KUBEVEND_ENV_FILE", file);
	if (format === "env" && ci.system === "github") for (const [name, value] of envLines(issued.content)) await ci.exportVariable(name, value);
	if (issued.issuances.length) await ci.exportVariable("KUBEVEND_STATE", stateFile);
	if (file !== "-") await ci.setOutput(format === "kubeconfig" ? "kubeconfig" : "file", file);
	await ci.setOutput("issuance-ids", issued.issuances.join(","));
	if (issued.expiresAt) await ci.setOutput("expires-at", issued.expiresAt);
	ctx.say(`${issued.summary}${file === "-" ? "" : `; written to ${file}`}`);
}
const defaultName = {
	kubeconfig: "kubeconfig",
	env: "kubevend.env",
	"exec-credential": "exec-credential.json"
};
const malformed = (what) => new CliError("unavailable", `the service answered 2xx without ${what}; nothing was written`);
/**
* The JSON envelope's kubeconfig, its secrets and issuances, checked: a kubeconfig whose every
* user's credential cannot be found (so masked) or that would run a program is refused.
*/
function readEnvelope(text) {
	let body;
	try {
		body = JSON.parse(text);
	} catch {
		throw malformed("a JSON credential envelope");
	}
	const found = typeof body.kubeconfig === "string" && /^apiVersion: v1\nkind: Config\n/.test(body.kubeconfig) ? kubeconfigSecrets(body.kubeconfig) : void 0;
	if (!found || !Array.isArray(body.issuances) || body.issuances.some((i) => typeof i.issuanceId !== "string")) throw malformed("a kubeconfig");
	return {
		body,
		...found
	};
}
/**
* Checks that a 2xx answer is the credential asked for before anything is written: a proxy's page
* or a truncated body is never saved as a kubeconfig. No line of it may be a CI runner's workflow
* command, should it reach a log.
*/
function readAnswer(format, text) {
	if (/^\s*::/m.test(text)) throw malformed("a credential free of workflow commands");
	if (format === "kubeconfig") {
		const { body, secrets } = readEnvelope(text);
		const where = body.issuances.map((i) => `${i.cluster}/${i.namespace} as ${i.serviceAccount}`).join(", ");
		return {
			content: body.kubeconfig,
			secrets,
			issuances: body.issuances.map((i) => i.issuanceId),
			expiresAt: body.expiresAt,
			summary: `pipeline ${body.pipeline} granted ${where}, until ${body.expiresAt}`,
			ignored: []
		};
	}
	if (format === "env") {
		const all = text.split("\n").filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]);
		const known = all.filter(([name]) => name in envValues);
		const bad = known.find(([name, value]) => !envValues[name].test(value));
		if (bad) throw malformed(`a valid ${bad[0]}`);
		const lines = new Map(known);
		const kubeconfig = lines.has("KUBECONFIG_DATA") ? kubeconfigSecrets(Buffer.from(lines.get("KUBECONFIG_DATA"), "base64").toString("utf8")) : void 0;
		if (!kubeconfig) throw malformed("env lines with a kubeconfig whose credentials can be found");
		const expiresAt = lines.get("KUBEVEND_EXPIRES_AT");
		return {
			content: known.map(([name, value]) => `${name}=${value}\n`).join(""),
			secrets: [...["KUBE_TOKEN", "KUBECONFIG_DATA"].map((n) => lines.get(n)).filter((v) => !!v), ...kubeconfig.secrets],
			issuances: (lines.get("KUBEVEND_ISSUANCE_IDS") ?? "").split(",").filter(Boolean),
			...expiresAt ? { expiresAt } : {},
			summary: `granted until ${expiresAt}`,
			ignored: all.filter(([name]) => !(name in envValues)).map(([name]) => name)
		};
	}
	const credential = parseExecCredential(text);
	if (!credential) throw malformed("an ExecCredential");
	return {
		content: text,
		secrets: [credential.token],
		issuances: [],
		expiresAt: credential.expirationTimestamp,
		summary: `granted until ${credential.expirationTimestamp}`,
		ignored: []
	};
}
const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
/**
* The variables of an env answer and what their values look like: nothing else is written or
* exported (a hostile answer could otherwise set PATH, BASH_ENV or LD_PRELOAD for later steps), and
* no value holds a quote, a space or a `$` that a shell reading the file could act on.
*/
const envValues = {
	KUBEVEND_ISSUANCE_IDS: /^[0-9A-Za-z]+(,[0-9A-Za-z]+)*$/,
	KUBEVEND_EXPIRES_AT: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
	KUBECONFIG_DATA: base64,
	KUBE_SERVER: /^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/,
	KUBE_NAMESPACE: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
	KUBE_TOKEN: /^[A-Za-z0-9._~+/=-]+$/,
	KUBE_CA_DATA: base64
};
/** The NAME=value lines of kubevend's own variables in an env file it wrote. */
function envLines(text) {
	return text.split("\n").filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]).filter(([name, value]) => envValues[name]?.test(value));
}
/** The token and expiry of a client.authentication.k8s.io/v1 ExecCredential, or undefined. */
function parseExecCredential(text) {
	try {
		const body = JSON.parse(text);
		const { token, expirationTimestamp } = body.status ?? {};
		if (body.kind !== "ExecCredential" || body.apiVersion !== "client.authentication.k8s.io/v1") return void 0;
		if (typeof token !== "string" || !token || typeof expirationTimestamp !== "string" || Number.isNaN(Date.parse(expirationTimestamp))) return void 0;
		return {
			token,
			expirationTimestamp
		};
	} catch {
		return;
	}
}

// src/cli/kubevend/output.ts
const outputs = [
	"table",
	"json",
	"ndjson",
	"csv"
];
function outputOf(value, fallback = "table") {
	const output = value ?? fallback;
	if (!outputs.includes(output)) throw new CliError("usage", `--output is one of ${outputs.join(", ")}`);
	return output;
}
const cell = (value) => printable(value === null || value === void 0 ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
/**
* Text from the service or the caller made one line: line breaks and other control characters are
* shown escaped. A line the command prints then never starts a new one, so a name or a refusal's
* code cannot become a CI runner's workflow command (GitHub's `::stop-commands::`, `::warning::`).
*/
function printable(text) {
	return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
/** Rows as a table for people, CSV (RFC 4180) for spreadsheets, or JSON / NDJSON for programs. */
function render(rows, columns, output, header = true) {
	if (output === "json") return `${JSON.stringify(rows, null, 2)}\n`;
	if (output === "ndjson") return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
	const cells = rows.map((r) => columns.map(([, value]) => cell(value(r))));
	const headings = columns.map(([heading]) => heading);
	if (output === "csv") {
		const quote = (v) => /[",\r\n]/.test(v) ? `"${v.replaceAll("\"", "\"\"")}"` : v;
		return [...header ? [headings] : [], ...cells].map((line) => `${line.map(quote).join(",")}\r\n`).join("");
	}
	const table = header ? [headings, ...cells] : cells;
	const widths = headings.map((_, i) => Math.max(...[headings, ...cells].map((line) => line[i].length)));
	return table.map((line) => `${line.map((v, i) => i === line.length - 1 ? v : v.padEnd(widths[i])).join("  ")}\n`).join("");
}

// src/cli/kubevend/exec-credential.ts
const flags$1 = {
	...serviceFlags,
	...tokenFlags,
	...askFlags,
	"cache-dir": { type: "string" },
	"renew-before": { type: "string" }
};
/**
* `kubevend exec-credential`: a kubectl exec credential plugin. It answers from a cache (one 0600
* file per caller, service, cluster, namespace and ServiceAccount, in the job's own folder where the
* CI system names the job) until `--renew-before` the credential's expiry, then asks the service
* again with a new identity token, so a job that outlives one token never hands kubectl an expired
* one. Every issuance it asks for is recorded in the job's state, where `revoke` finds it.
*/
async function execCredentialCommand(args, ctx) {
	const { values } = parseFlags(args, flags$1);
	const ask = askOf(values);
	if ("clusters" in ask) throw new CliError("usage", "an ExecCredential holds one cluster's token: name one --cluster");
	const service = serviceOf(values, ctx.env, ctx.say);
	const renewBeforeMs = durationMs(values["renew-before"] ?? "2m", "renew-before");
	const choice = tokenChoiceOf(values, ctx.env);
	const inJob = knownJobDir(ctx.env) ? await jobDir(ctx.env) : void 0;
	const dir = await privateDir(values["cache-dir"] ?? ctx.env.KUBEVEND_CACHE_DIR ?? (inJob ? join(inJob, "exec-credentials") : join(ctx.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubevend", "credentials")));
	const stateFile = ctx.env.KUBEVEND_STATE ?? (inJob ? stateFileIn(inJob) : void 0);
	const holder = await holderOf(choice, ctx.env);
	const key = holder && createHash("sha256").update(JSON.stringify([
		holder,
		service.url,
		choice.audience,
		values.cluster?.[0] ?? "",
		ask.namespace ?? "",
		ask.serviceAccount ?? ""
	])).digest("hex").slice(0, 32);
	const file = key && join(dir, `${key}.json`);
	const fresh = (text) => {
		const credential = text === void 0 ? void 0 : parseExecCredential(text);
		return !!credential && Date.parse(credential.expirationTimestamp) - Date.now() > renewBeforeMs;
	};
	const cached = file ? await readPrivateFile(file, ctx.say) : void 0;
	if (fresh(cached)) return ctx.stdout(cached);
	const release = await lockFile(`${file || join(dir, "uncached")}.lock`, service.deadlineMs, sleep);
	try {
		const again = file ? await readPrivateFile(file, ctx.say) : void 0;
		if (fresh(again)) return ctx.stdout(again);
		const ci = ciSurface(ctx.env, () => {});
		const tokens = identityTokens(choice, ctx.env, ci.mask);
		if (again !== void 0 && !tokens.renewable) ctx.say(`the cached credential is due for renewal and ${tokens.source} gives no new identity token; asking with the one it has`);
		const response = await callService(service, {
			method: "POST",
			path: "/v1/credentials",
			token: () => tokens.next(),
			body: {
				...ask,
				format: "json"
			}
		});
		const { body, tokens: found } = readEnvelope(await response.text());
		const [issuance] = body.issuances;
		if (found.length !== 1 || body.issuances.length !== 1 || !issuance || Number.isNaN(Date.parse(issuance.expiresAt))) throw new CliError("unavailable", "the service answered 2xx without one cluster's token");
		if (stateFile) await recordIssued(stateFile, [{
			url: service.url,
			id: issuance.issuanceId,
			expiresAt: issuance.expiresAt
		}]);
		else ctx.say(`issuance ${issuance.issuanceId} is recorded nowhere (no CI job, no KUBEVEND_STATE): revoke it by its id`);
		const text = JSON.stringify({
			apiVersion: "client.authentication.k8s.io/v1",
			kind: "ExecCredential",
			status: {
				token: found[0],
				expirationTimestamp: issuance.expiresAt
			}
		});
		if (file) await writePrivateFile(file, text);
		ctx.stdout(text);
	} finally {
		await release();
	}
}

// src/cli/kubevend/login.ts
/** Flags of the commands an operator runs with their login. */
const loginFlags = {
	issuer: { type: "string" },
	"client-id": { type: "string" },
	"token-cache-dir": { type: "string" }
};
const cacheDirOf = (values, env) => values["token-cache-dir"] ?? env.KUBEVEND_TOKEN_CACHE_DIR ?? join(homedir(), ".kube", "cache", "kubevend");
const cacheFile = (dir, issuer, clientId) => join(dir, `${createHash("sha256").update(JSON.stringify([issuer, clientId])).digest("hex").slice(0, 32)}.json`);
const currentFile = (dir) => join(dir, "current.json");
/**
* `kubevend login`: the OAuth device authorization grant (RFC 8628) against the operator's OIDC
* provider. Prints where to go and the code to enter, waits for the approval, and caches the ID
* token (and refresh token) that operator commands present to kubevend.
*/
async function loginCommand(args, ctx) {
	const { values } = parseFlags(args, {
		...loginFlags,
		scope: { type: "string" }
	});
	const issuer = values.issuer ?? ctx.env.KUBEVEND_OIDC_ISSUER;
	const clientId = values["client-id"] ?? ctx.env.KUBEVEND_OIDC_CLIENT_ID;
	if (!issuer || !clientId) throw new CliError("usage", "name the OIDC provider with --issuer and --client-id (or KUBEVEND_OIDC_ISSUER, KUBEVEND_OIDC_CLIENT_ID)");
	const dir = await privateDir(cacheDirOf(values, ctx.env));
	const provider = await discover(issuer);
	if (!provider.device_authorization_endpoint) throw new CliError("usage", `${issuer} offers no device authorization endpoint`);
	const start = await form(provider.device_authorization_endpoint, {
		client_id: clientId,
		scope: values.scope ?? "openid offline_access"
	});
	if (!start.ok) throw new CliError("refused", `the provider refused the device authorization: ${start.body.error ?? start.status}`);
	const { device_code, user_code, verification_uri, verification_uri_complete } = start.body;
	const expiresIn = Number(start.body.expires_in ?? 600);
	let interval = Number(start.body.interval ?? 5) * 1e3;
	ctx.say(`to sign in, open ${verification_uri_complete ?? verification_uri} and confirm the code ${user_code}`);
	const until = Date.now() + expiresIn * 1e3;
	while (Date.now() < until) {
		await sleep(interval);
		const answer = await form(provider.token_endpoint, {
			grant_type: "urn:ietf:params:oauth:grant-type:device_code",
			device_code,
			client_id: clientId
		});
		if (answer.ok) {
			await saveLogin(dir, {
				issuer,
				clientId,
				...tokensOf(answer.body)
			});
			ctx.say(`signed in as ${claimsOf(String(answer.body.id_token)).sub} at ${issuer}`);
			return;
		}
		if (answer.body.error === "slow_down") interval += 5e3;
		else if (answer.body.error !== "authorization_pending") throw new CliError("refused", `the sign-in was not completed: ${answer.body.error ?? answer.status}`);
	}
	throw new CliError("refused", "the sign-in was not completed before the code expired");
}
/**
* The bearer token of an operator command: a token file or variable when given, else the cached
* login's ID token, renewed with its refresh token when less than a minute of it is left.
*/
async function operatorToken(values, ctx) {
	if (values["token-file"]) return (await readFile(values["token-file"], "utf8")).trim();
	const variable = values["token-env"] ?? (ctx.env.KUBEVEND_TOKEN ? "KUBEVEND_TOKEN" : void 0);
	if (variable) {
		if (!ctx.env[variable]) throw new CliError("usage", `the variable ${variable} is not set`);
		return ctx.env[variable];
	}
	const dir = cacheDirOf(values, ctx.env);
	const current = JSON.parse(await readPrivateFile(currentFile(dir), ctx.say) ?? "{}");
	const issuer = values.issuer ?? ctx.env.KUBEVEND_OIDC_ISSUER ?? current.issuer;
	const clientId = values["client-id"] ?? ctx.env.KUBEVEND_OIDC_CLIENT_ID ?? current.clientId;
	const notLoggedIn = new CliError("usage", "not signed in: run `kubevend login --issuer <url> --client-id <id>` (or pass --token-env)");
	if (!issuer || !clientId) throw notLoggedIn;
	const text = await readPrivateFile(cacheFile(dir, issuer, clientId), ctx.say);
	if (!text) throw notLoggedIn;
	const login = JSON.parse(text);
	if ((claimsOf(login.idToken).exp ?? 0) * 1e3 - Date.now() > 6e4) return login.idToken;
	if (!login.refreshToken) throw new CliError("usage", "the sign-in has expired: run `kubevend login` again");
	const answer = await form((await discover(issuer)).token_endpoint, {
		grant_type: "refresh_token",
		refresh_token: login.refreshToken,
		client_id: clientId
	});
	if (!answer.ok || typeof answer.body.id_token !== "string") throw new CliError("usage", "the sign-in has expired and could not be renewed: run `kubevend login` again");
	const renewed = {
		issuer,
		clientId,
		...tokensOf(answer.body, login.refreshToken)
	};
	await saveLogin(dir, renewed);
	return renewed.idToken;
}
async function saveLogin(dir, login) {
	await privateDir(dir);
	await writePrivateFile(cacheFile(dir, login.issuer, login.clientId), JSON.stringify(login));
	await writePrivateFile(currentFile(dir), JSON.stringify({
		issuer: login.issuer,
		clientId: login.clientId
	}));
}
function tokensOf(body, previousRefresh) {
	if (typeof body.id_token !== "string") throw new CliError("refused", "the provider answered without an ID token (is the scope \"openid\" allowed?)");
	const refresh = typeof body.refresh_token === "string" ? body.refresh_token : previousRefresh;
	return {
		idToken: body.id_token,
		...refresh ? { refreshToken: refresh } : {}
	};
}
function claimsOf(jwt) {
	try {
		return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
	} catch {
		return {};
	}
}
async function discover(issuer) {
	const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
	const response = await fetch(url, { signal: AbortSignal.timeout(2e4) }).catch((err) => {
		throw new CliError("unavailable", `the OIDC provider cannot be reached at ${url}: ${err.message}`);
	});
	if (!response.ok) throw new CliError("unavailable", `the OIDC provider answered ${response.status} at ${url}`);
	return await response.json();
}
async function form(url, fields) {
	const response = await fetch(url, {
		method: "POST",
		body: new URLSearchParams(fields),
		headers: { accept: "application/json" },
		signal: AbortSignal.timeout(2e4)
	}).catch((err) => {
		throw new CliError("unavailable", `the OIDC provider cannot be reached: ${err.message}`);
	});
	const body = await response.json().catch(() => ({}));
	return {
		ok: response.ok,
		status: response.status,
		body
	};
}

// src/cli/kubevend/operator.ts
const operatorFlags = {
	...serviceFlags,
	...loginFlags,
	"token-file": tokenFlags["token-file"],
	"token-env": tokenFlags["token-env"]
};
function operatorCall(values, ctx) {
	const service = serviceOf(values, ctx.env, ctx.say);
	const token = () => operatorToken(values, ctx);
	return {
		service,
		async json(method, path, body) {
			return await (await callService(service, {
				method,
				path,
				token,
				...body === void 0 ? {} : { body }
			})).json();
		},
		stream: (path) => callService(service, {
			method: "GET",
			path,
			token,
			accept: "application/x-ndjson"
		})
	};
}
const query = (params) => {
	const search = new URLSearchParams(Object.entries(params).flatMap(([k, v]) => v === void 0 ? [] : [[k, String(v)]]));
	return search.size ? `?${search}` : "";
};
const auditColumns = [
	["ID", (r) => r.id],
	["TIME", (r) => r.time],
	["KIND", (r) => r.kind],
	["OUTCOME", (r) => r.outcome],
	["PIPELINE", (r) => r.pipeline],
	["CLUSTER", (r) => r.cluster],
	["NAMESPACE", (r) => r.namespace],
	["REASON", (r) => r.reasonCode],
	["ISSUANCE", (r) => r.issuanceId],
	["WHO", (r) => {
		const c = r.claims;
		return c.repository ?? c.project ?? "";
	}]
];
const auditFilters = [
	"pipeline",
	"repository",
	"project",
	"cluster",
	"namespace",
	"outcome",
	"kind",
	"issuance",
	"from",
	"to"
];
/** `kubevend audit`: the ledger, filtered, as a table, JSON, NDJSON or CSV; `--follow` keeps printing new records. */
async function auditCommand(args, ctx) {
	if (args[0] === "verify") return auditVerifyCommand(args.slice(1), ctx);
	const { values } = parseFlags(args, {
		...operatorFlags,
		...Object.fromEntries(auditFilters.map((f) => [f, { type: "string" }])),
		limit: { type: "string" },
		output: {
			type: "string",
			short: "o"
		},
		follow: {
			type: "boolean",
			short: "f"
		},
		interval: { type: "string" }
	});
	const output = outputOf(values.output);
	const limit = Number(values.limit ?? 50);
	if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CliError("usage", "--limit is a whole number from 1 to 500");
	const filter = Object.fromEntries(auditFilters.map((f) => [f === "issuance" ? "issuanceId" : f, values[f]]));
	const api = operatorCall(values, ctx);
	if (output === "ndjson" && !values.follow) {
		const response = await api.stream(`/v1/audit${query(filter)}`);
		for await (const chunk of response.body) ctx.stdout(Buffer.from(chunk).toString("utf8"));
		return;
	}
	const page = await api.json("GET", `/v1/audit${query({
		...filter,
		limit
	})}`);
	const oldestFirst = page.items.toReversed();
	ctx.stdout(render(oldestFirst, auditColumns, output === "json" && values.follow ? "ndjson" : output));
	if (!values.follow) return;
	let seen = Math.max(0, ...page.items.map((r) => Number(r.id)));
	const every = Number(values.interval ?? 2) * 1e3;
	for (;;) {
		await sleep(every);
		const fresh = [];
		let cursor = null;
		do {
			const next = await api.json("GET", `/v1/audit${query({
				...filter,
				limit: 500,
				...cursor ? { cursor } : {}
			})}`);
			const newer = next.items.filter((r) => Number(r.id) > seen);
			fresh.push(...newer);
			cursor = newer.length === next.items.length ? next.nextCursor : null;
		} while (cursor);
		if (!fresh.length) continue;
		seen = Math.max(seen, ...fresh.map((r) => Number(r.id)));
		ctx.stdout(render(fresh.toReversed(), auditColumns, output === "json" ? "ndjson" : output, false));
	}
}
/**
* `kubevend audit verify`: asks the service to verify the ledger (GET /v1/audit/verify). With
* --database-url, or --receipt offline, it runs the verifier of `npm run audit:verify` itself
* (runAuditVerify, with --checkpoint and --keys as there), from the package beside this command.
*/
async function auditVerifyCommand(args, ctx) {
	const { values } = parseFlags(args, {
		...operatorFlags,
		"database-url": { type: "string" },
		checkpoint: { type: "string" },
		receipt: { type: "string" },
		keys: { type: "string" },
		output: {
			type: "string",
			short: "o"
		}
	});
	if (values["database-url"] || values.receipt) {
		const passed = [
			"checkpoint",
			"receipt",
			"keys"
		].flatMap((f) => values[f] ? [`--${f}`, values[f]] : []);
		const env = values["database-url"] ? {
			...ctx.env,
			KUBEVEND_DATABASE_URL: values["database-url"]
		} : ctx.env;
		const code = await (await localVerifier())(passed, env, {
			out: (line) => ctx.stdout(`${line}\n`),
			err: ctx.say
		});
		if (code === 1) throw new CliError("failed", "the audit ledger does not verify");
		if (code !== 0) throw new CliError("usage", "the verifier could not run");
		return;
	}
	const result = await operatorCall(values, ctx).json("GET", "/v1/audit/verify");
	if (values.output === "json") ctx.stdout(`${JSON.stringify(result)}\n`);
	else if (result.ok) ctx.stdout(`audit ledger intact: ${result.count} records verified\n`);
	else ctx.stdout(`${printable(`audit ledger BROKEN at record ${result.recordId} (${result.problem}): ${result.detail}; ${result.count} records verified before it`)}\n`);
	if (!result.ok) throw new CliError("failed", "the audit ledger does not verify");
}
/**
* The package's ledger verifier, loaded only for a local verification: it opens the store, whose
* drivers nothing else the command does needs. Beside the built command (dist/ledger/), or the
* source's when the command runs from src/.
*/
async function localVerifier() {
	const candidates = [join(import.meta.dirname, "ledger", "verify-command.js"), join(import.meta.dirname, "..", "..", "ledger", "verify-command.ts")];
	for (const file of candidates) {
		if (!existsSync(file)) continue;
		return (await import(pathToFileURL(file).href)).runAuditVerify;
	}
	throw new CliError("usage", "a local verification needs the kubevend package installed beside the command (dist/ledger/)");
}
const issuanceColumns = [
	["ID", (r) => r.id],
	["PIPELINE", (r) => r.pipeline],
	["CLUSTER", (r) => r.cluster],
	["NAMESPACE", (r) => r.namespace],
	["SERVICE ACCOUNT", (r) => r.serviceAccount],
	["KIND", (r) => r.tokenKind],
	["STATE", (r) => r.state],
	["CREATED", (r) => r.createdAt],
	["EXPIRES", (r) => r.expiresAt]
];
/** `kubevend issuances`: credentials and their state (operators: all; filters by pipeline, cluster, state). */
async function issuancesCommand(args, ctx) {
	const { values } = parseFlags(args, {
		...operatorFlags,
		pipeline: { type: "string" },
		cluster: { type: "string" },
		state: { type: "string" },
		limit: { type: "string" },
		output: {
			type: "string",
			short: "o"
		}
	});
	const output = outputOf(values.output);
	const page = await operatorCall(values, ctx).json("GET", `/v1/issuances${query({
		pipeline: values.pipeline,
		cluster: values.cluster,
		state: values.state,
		limit: values.limit ?? 100
	})}`);
	ctx.stdout(render(page.items, issuanceColumns, output));
}
/** `kubevend suspend PIPELINE`: the kill switch; suspends the pipeline and revokes its live credentials. */
async function suspendCommand(args, ctx) {
	const { values, positionals } = parseFlags(args, {
		...operatorFlags,
		cluster: { type: "string" }
	}, 1);
	if (!positionals[0]) throw new CliError("usage", "name the pipeline: kubevend suspend PIPELINE [--cluster NAME]");
	const body = {
		pipeline: positionals[0],
		...values.cluster ? { cluster: values.cluster } : {}
	};
	const result = await operatorCall(values, ctx).json("POST", "/v1/issuances/revoke", body);
	ctx.say(`pipeline ${positionals[0]} suspended${values.cluster ? ` in ${values.cluster}` : ""}; ${result.revoked.length} live credentials revoked`);
}
/** `kubevend resume PIPELINE`: lifts a suspension. */
async function resumeCommand(args, ctx) {
	const { values, positionals } = parseFlags(args, {
		...operatorFlags,
		cluster: { type: "string" }
	}, 1);
	if (!positionals[0]) throw new CliError("usage", "name the pipeline: kubevend resume PIPELINE [--cluster NAME]");
	await operatorCall(values, ctx).json("DELETE", `/v1/suspensions/${encodeURIComponent(positionals[0])}${query({ cluster: values.cluster })}`);
	ctx.say(`pipeline ${positionals[0]} resumed`);
}
/**
* `kubevend explain`: what a credential request would get and why each pipeline did or did not
* match. A CI job explains its own token; an operator passes --issuer-name and --claims.
*/
async function explainCommand(args, ctx) {
	const { values } = parseFlags(args, {
		...operatorFlags,
		...tokenFlags,
		...askFlags,
		"issuer-name": { type: "string" },
		claims: { type: "string" },
		output: {
			type: "string",
			short: "o"
		}
	});
	const ask = askOf(values);
	if ("clusters" in ask) throw new CliError("usage", "explain one --cluster at a time");
	let identity;
	if (values.claims || values["issuer-name"]) {
		if (!values.claims || !values["issuer-name"]) throw new CliError("usage", "--claims and --issuer-name go together");
		try {
			identity = {
				issuer: values["issuer-name"],
				claims: JSON.parse(values.claims)
			};
		} catch {
			throw new CliError("usage", "--claims is a JSON object of claims");
		}
	}
	const service = serviceOf(values, ctx.env, ctx.say);
	const token = identity ? () => operatorToken(values, ctx) : jobToken(values, ctx.env, ctx.stdout);
	const result = await (await callService(service, {
		method: "POST",
		path: "/v1/explain",
		token,
		body: {
			...ask,
			...identity ? { identity } : {}
		}
	})).json();
	if (values.output === "json") return ctx.stdout(`${JSON.stringify(result, null, 2)}\n`);
	const line = (text) => ctx.stdout(`${printable(text)}\n`);
	line(`${result.decision.toUpperCase()} for ${result.identity.issuer}${result.identity.subject ? ` ${result.identity.subject}` : ""}`);
	if (result.denial) line(`  ${result.denial.code}: ${result.denial.detail}`);
	for (const p of result.pipelines) {
		const why = p.mismatches.map((m) => `${m.claim} is ${m.actual ?? "(missing)"}, wants ${m.expected.join(" or ")}`);
		const grants = p.grants.filter((g) => !g.fits && g.reason).map((g) => `grant ${g.index}: ${g.reason}`);
		line(`  ${p.pipeline}: ${p.stage}${[...why, ...grants].length ? ` (${[...why, ...grants].join("; ")})` : ""}`);
	}
}

// src/cli/kubevend/revoke.ts
const flags = {
	...serviceFlags,
	...tokenFlags,
	...loginFlags,
	state: { type: "string" },
	operator: { type: "boolean" }
};
/**
* `kubevend revoke [ID...]`: revokes what `credentials` issued in this job (its state file) or the
* issuances named, with the job's identity token or, with --operator, the operator's login.
*/
async function revokeCommand(args, ctx) {
	const { values, positionals } = parseFlags(args, flags, 100);
	const stateFile = positionals.length ? void 0 : values.state ?? ctx.env.KUBEVEND_STATE ?? await jobStateFile(ctx.env);
	const named = values.url ?? ctx.env.KUBEVEND_URL;
	const issued = stateFile ? await loadState(stateFile) : positionals.map((id) => ({
		id,
		url: named ?? ""
	}));
	const token = values.operator ? () => operatorToken(values, ctx) : jobToken(values, ctx.env, ctx.stdout);
	let worst = "ok";
	const revoked = [];
	for (const one of issued) {
		const service = serviceOf({
			...values,
			url: named ?? (one.url || void 0)
		}, ctx.env, ctx.say);
		try {
			const body = await (await callService(service, {
				method: "DELETE",
				path: `/v1/issuances/${encodeURIComponent(one.id)}`,
				token
			})).json();
			ctx.say(`issuance ${one.id} of ${body.pipeline}: ${body.state}`);
			revoked.push(one);
		} catch (err) {
			if (!(err instanceof CliError)) throw err;
			ctx.say(`issuance ${one.id}: ${err.message}`);
			if (exitCodes[err.exitClass] > exitCodes[worst]) worst = err.exitClass;
		}
	}
	if (stateFile) await forgetIssued(stateFile, revoked);
	if (worst !== "ok") throw new CliError(worst, `${issued.length === 1 ? "the issuance was" : "not every issuance was"} not revoked`);
}
/** The state `credentials` left in this CI job's folder; outside CI there is no such folder to look in. */
async function jobStateFile(env) {
	if (ciSystemOf(env) === "other") throw new CliError("usage", "name what to revoke: issuance ids, --state FILE, or KUBEVEND_STATE");
	return stateFileIn(await jobDir(env));
}

// src/cli/kubevend/run.ts
const usage = `kubevend: short-lived Kubernetes credentials for CI jobs

CI jobs
  kubevend credentials [--cluster NAME]... [--namespace NS] [--service-account SA] [--ttl 15m] [--kind durable]
                       [--format kubeconfig|env|exec-credential] [--file PATH|-] [--dotenv FILE]
      Finds the job's identity token (GitHub Actions: asks for --audience; GitLab: the id_tokens
      variable --gitlab-token-var, default KUBEVEND_ID_TOKEN; elsewhere --token-file or --token-env),
      asks the service and writes the credential with mode 0600. Exports KUBECONFIG and KUBEVEND_STATE
      (GitHub: to $GITHUB_ENV; elsewhere as \`export\` lines on stdout, for eval) and masks every
      secret in GitHub's log. The credential itself reaches stdout only with --file -.
  kubevend exec-credential [--cluster NAME] [--namespace NS] [--cache-dir DIR] [--renew-before 2m]
      A kubectl exec credential plugin (client.authentication.k8s.io/v1). Caches the credential in a
      0600 file (in the job's folder in CI) until shortly before it expires, then asks again with a
      new identity token; records each issuance for \`revoke\`.
  kubevend revoke [ID...] [--state FILE] [--operator]
      Revokes what \`credentials\` issued in this job (or the issuances named).

Operators (sign in once with the OAuth device authorization grant; or pass --token-env)
  kubevend login --issuer URL --client-id ID [--scope "openid offline_access"]
  kubevend audit [--pipeline P] [--repository R] [--project P] [--cluster C] [--namespace N] [--outcome O]
                 [--kind K] [--issuance ID] [--from T] [--to T] [--limit 50] [--follow] [-o table|json|ndjson|csv]
  kubevend audit verify [-o json] | --database-url URL [--checkpoint FILE] [--keys FILE] | --receipt FILE [--keys FILE]
  kubevend issuances [--pipeline P] [--cluster C] [--state S] [-o table|json|ndjson|csv]
  kubevend suspend PIPELINE [--cluster C]     the kill switch: suspend and revoke every live credential
  kubevend resume PIPELINE [--cluster C]
  kubevend explain [--cluster C] [--namespace N] [--issuer-name NAME --claims JSON] [-o json]

Every command that calls the service takes --url (KUBEVEND_URL) and --deadline (KUBEVEND_DEADLINE,
default 60s): 429 and 503 are retried, honouring Retry-After, until the deadline. The URL is https;
http only to this machine unless --insecure-http (KUBEVEND_INSECURE_HTTP=true), for local tests.

Exit codes: 0 done; 1 failed otherwise (a file not written, a ledger that does not verify);
2 bad usage (flags, no identity token, a 400); 3 refused by the service (401, 403, 404);
4 unavailable (unreachable, 5xx, or 429/503 until the deadline).
`;
const commands = {
	credentials: credentialsCommand,
	"exec-credential": execCredentialCommand,
	revoke: revokeCommand,
	login: loginCommand,
	audit: auditCommand,
	issuances: issuancesCommand,
	suspend: suspendCommand,
	resume: resumeCommand,
	explain: explainCommand
};
/** Runs one command line; answers the exit code. */
async function runCommand(argv, ctx) {
	const [name, ...args] = argv;
	if (!name || name === "--help" || name === "-h" || name === "help") {
		ctx.stdout(usage);
		return name ? exitCodes.ok : exitCodes.usage;
	}
	const command = commands[name];
	try {
		if (!command) throw new CliError("usage", `unknown command "${name}"; see kubevend --help`);
		if (args.includes("--help") || args.includes("-h")) {
			ctx.stdout(usage);
			return exitCodes.ok;
		}
		await command(args, ctx);
		return exitCodes.ok;
	} catch (err) {
		const fail = ctx.fail ?? ctx.say;
		if (err instanceof CliError) {
			fail(err.message);
			return exitCodes[err.exitClass];
		}
		fail(`failed: ${err.message}`);
		return exitCodes.failed;
	}
}

// src/cli/kubevend/github-action.ts
const env = process.env;
const input = (name) => (env[`INPUT_${name.replaceAll(" ", "_").toUpperCase()}`] ?? "").trim();
const flag = (name, value = input(name)) => value ? [`--${name}`, value] : [];
const context = {
	env,
	stdout: (text) => void process.stdout.write(text),
	say: (line) => void process.stdout.write(`kubevend: ${printable(line)}\n`),
	fail: (line) => void process.stdout.write(`::error title=kubevend::${escapeData(line)}\n`)
};
const common = [
	...flag("url"),
	...flag("audience"),
	...flag("deadline"),
	...input("insecure-http") === "true" ? ["--insecure-http"] : []
];
if (env.STATE_isPost === "true") {
	if (input("revoke") !== "false" && env.STATE_state) process.exitCode = await runCommand([
		"revoke",
		...common,
		"--state",
		env.STATE_state
	], context);
} else {
	if (env.GITHUB_STATE) await appendFile(env.GITHUB_STATE, "isPost=true\n");
	const dir = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), "kubevend-"));
	const format = input("format") || "kubeconfig";
	const file = format in defaultName ? ["--file", join(dir, defaultName[format])] : [];
	const args = [
		"credentials",
		...common,
		...flag("cluster"),
		...flag("namespace"),
		...flag("service-account"),
		...flag("ttl"),
		...flag("kind"),
		...flag("format"),
		...file
	];
	process.exitCode = await runCommand(args, context);
	const issued = await access(stateFileIn(dir)).then(() => true, () => false);
	if (process.exitCode === 0 && issued && env.GITHUB_STATE) await appendFile(env.GITHUB_STATE, `state=${stateFileIn(dir)}\n`);
}

export {  };
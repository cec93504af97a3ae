// What `kubevend` does with its arguments: the usage text and one function per subcommand.
import type { CommandContext } from './context.ts';
import { credentialsCommand } from './credentials.ts';
import { execCredentialCommand } from './exec-credential.ts';
import { CliError, exitCodes } from './exit.ts';
import { loginCommand } from './login.ts';
import { auditCommand, explainCommand, issuancesCommand, resumeCommand, suspendCommand } from './operator.ts';
import { revokeCommand } from './revoke.ts';

export const usage = `kubevend: short-lived Kubernetes credentials for CI jobs

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

const commands: Record<string, (args: string[], ctx: CommandContext) => Promise<void>> = {
  credentials: credentialsCommand,
  'exec-credential': execCredentialCommand,
  revoke: revokeCommand,
  login: loginCommand,
  audit: auditCommand,
  issuances: issuancesCommand,
  suspend: suspendCommand,
  resume: resumeCommand,
  explain: explainCommand,
};

/** Runs one command line; answers the exit code. */
export async function runCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    ctx.stdout(usage);
    return name ? exitCodes.ok : exitCodes.usage;
  }
  const command = commands[name];
  try {
    if (!command) throw new CliError('usage', `unknown command "${name}"; see kubevend --help`);
    if (args.includes('--help') || args.includes('-h')) {
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
    fail(`failed: ${(err as Error).message}`);
    return exitCodes.failed;
  }
}

// What a kubeconfig from the service holds in its users: read as YAML, the subset kubevend writes
// (block mappings and sequences of scalars), so that every secret in it is found whatever its
// quoting, and a kubeconfig that would run a program or hides a user's credential is refused.

/** Fields of a kubeconfig user that hold a secret, masked in a CI log. */
const secretFields = new Set(['token', 'client-key-data', 'password', 'id-token', 'refresh-token', 'client-secret']);
/** Fields that make kubectl run a program or fetch a token elsewhere: never in a vended credential. */
const refusedFields = new Set(['exec', 'auth-provider', 'tokenFile']);

export interface KubeconfigSecrets {
  /** Every secret value, for masking. */
  secrets: string[];
  /** Each user's bearer token, in order; a user authenticating with a client key has none. */
  tokens: string[];
}

/**
 * The secrets of a kubeconfig, or undefined when it cannot be read with certainty: a line that is
 * not a `key: value` of the subset, a user without a token or client key, a value in a YAML form
 * (flow, anchor, alias, tag, block scalar) that could hide one, or a field that runs a program.
 */
export function kubeconfigSecrets(text: string): KubeconfigSecrets | undefined {
  const found: KubeconfigSecrets = { secrets: [], tokens: [] };
  const users: { credential: boolean }[] = [];
  let section = '';
  let itemIndent: number | undefined;
  const sections = new Set<string>();
  for (const line of text.split('\n')) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = /^( *)(- +)?([A-Za-z][\w.-]*): *(.*?) *$/.exec(line);
    if (!m) {
      // A bare list entry (a context's extensions, say) is allowed outside users only.
      if (section !== 'users' && /^ +- +\S/.test(line) && scalar(line.replace(/^ +- +/, '')) !== undefined) continue;
      return undefined;
    }
    const [, spaces, dash, key, value] = m as unknown as [string, string, string | undefined, string, string];
    if (!spaces && !dash) {
      if (sections.has(key)) return undefined;
      sections.add(key);
      section = key;
      itemIndent = undefined;
      if (section === 'users' && value) return undefined;
      continue;
    }
    if (section !== 'users') {
      if (value && scalar(value) === undefined && !/^(\{\}|\[\])$/.test(value)) return undefined;
      continue;
    }
    if (refusedFields.has(key)) return undefined;
    if (dash) {
      itemIndent ??= spaces.length;
      if (spaces.length === itemIndent) users.push({ credential: false });
    }
    const user = users.at(-1);
    if (!user) return undefined;
    if (!value) continue;
    const parsed = scalar(value);
    if (parsed === undefined) return undefined;
    if (secretFields.has(key)) {
      found.secrets.push(parsed);
      if (key === 'token') found.tokens.push(parsed);
      if (key === 'token' || key === 'client-key-data') user.credential = true;
    }
  }
  if (!users.length || users.some((u) => !u.credential)) return undefined;
  return found;
}

/** A YAML scalar: double-quoted (JSON's escapes), single-quoted, or plain; undefined for anything else. */
function scalar(value: string): string | undefined {
  if (value.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(value);
      return typeof parsed === 'string' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  if (value.startsWith('\'')) {
    const quoted = /^'((?:[^']|'')*)'$/.exec(value);
    return quoted ? quoted[1]!.replaceAll('\'\'', '\'') : undefined;
  }
  if (/^[{[&*!|>%@`#,?:-]/.test(value)) return undefined;
  const plain = value.replace(/\s+#.*$/, '').trim();
  return plain || undefined;
}

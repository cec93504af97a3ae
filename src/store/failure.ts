import { Problem, StoreFailure } from '../errors.ts';

export { StoreFailure };

/**
 * `part` with every call that fails with anything but a Problem (the store's answers to bad input,
 * such as a cursor that is not its own) failing with a StoreFailure instead, so that callers above
 * can tell a store that cannot answer from a fault of their own. Calls that return no promise (a
 * stream) are left as they are.
 */
export function markFailures<T extends object>(part: T): T {
  return Object.fromEntries(Object.entries(part).map(([name, value]) => [name, typeof value !== 'function' ? value : (...args: unknown[]) => {
    const result: unknown = value.apply(part, args);
    return result instanceof Promise ? result.catch((err: unknown) => { throw err instanceof Problem || err instanceof StoreFailure ? err : new StoreFailure(err); }) : result;
  }])) as T;
}

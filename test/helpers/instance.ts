import { randomBytes } from 'node:crypto';

/**
 * This test file's installation of kubevend (KUBEVEND_INSTANCE). Test files run at once against one
 * cluster, as separate installations may share one in production: each file's reaper must leave the
 * others' objects alone. Every kubevend a file starts is of this installation, so that a restarted
 * or second replica finds what the first one made.
 */
export const testInstance = `test-${randomBytes(4).toString('hex')}`;

/** The labels that make an object this file's installation's, for strays a test makes by hand. */
export const managedLabels = { 'app.kubernetes.io/managed-by': 'kubevend', 'kubevend.io/instance': testInstance };

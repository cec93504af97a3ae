import { problemSchema } from '../errors.ts';

const problemContent = {
  content: { 'application/problem+json': { schema: problemSchema } },
};

/** The error responses every API route documents: RFC 9457 problems. */
export const problemResponses = {
  '4XX': { description: 'The request was refused; `code` says why', ...problemContent },
  '5XX': { description: 'kubevend or a Kubernetes API server failed', ...problemContent },
};

// The part of autocannon's API the load generator uses (the package ships no types).
declare module 'autocannon' {
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (request: Request, context: object) => Request;
  }
  interface Options {
    url: string;
    connections?: number;
    amount?: number;
    duration?: number;
    timeout?: number;
    requests?: Request[];
  }
  interface Instance {
    on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void): void;
    on(event: 'reqError', listener: (error: Error) => void): void;
    stop(): void;
  }
  function autocannon(options: Options, done: (err: Error | null, result: { errors: number; timeouts: number }) => void): Instance;
  export default autocannon;
}

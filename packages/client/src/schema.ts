// Generated from openapi.yaml by `npm run docs`; a test fails when it is stale. Do not edit.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness */
        get: operations["liveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness, with details for operators */
        get: operations["readiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Vend a Kubernetes credential to a CI job
         * @description Authenticates the CI identity token, matches it against the policy and answers with a kubeconfig.
         */
        post: operations["issueCredential"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/explain": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Say what a credential request would get, and why each pipeline did or did not match
         * @description Issues nothing and does not spend the token. Operators may pass `identity` to explain other claims.
         */
        post: operations["explainCredential"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/issuances": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List credentials with their state (operators: all; a CI job: its pipeline's) */
        get: operations["listIssuances"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/issuances/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One credential and its state */
        get: operations["getIssuance"];
        put?: never;
        post?: never;
        /**
         * Revoke one credential (operator admin, or the identity it was issued to)
         * @description Deletes its anchor Secret and every object made for it: the API server refuses the token at once.
         */
        delete: operations["revokeIssuance"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/issuances/{id}/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate a credential: a new one for the same cluster, namespace and kind; the old one is revoked
         * @description For the identity it was issued to, with a fresh CI token. The policy in force decides the new one.
         */
        post: operations["rotateIssuance"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/issuances/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Kill switch: suspend a pipeline and revoke every active credential of it (operator admin)
         * @description The suspension is kept in the store: no replica issues for the pipeline, and no issuance in flight is handed out, until an admin lifts it (DELETE /v1/suspensions/{pipeline}).
         */
        post: operations["revokePipeline"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/suspensions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Suspended pipelines (operators) */
        get: operations["listSuspensions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/suspensions/{pipeline}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Lift a pipeline's suspension (operator admin) */
        delete: operations["liftSuspension"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The audit ledger, newest first (operators: auditor or admin)
         * @description Filters combine. With `Accept: application/x-ndjson` the whole filtered ledger streams as one record a line; `cursor` and `limit` are ignored then.
         */
        get: operations["listAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Walk the hash chain and report the first broken link (operators) */
        get: operations["verifyAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/checkpoint": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The latest signed checkpoint of the audit ledger (public: a size and hashes); save it to hold the ledger to it later */
        get: operations["getAuditCheckpoint"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The public keys that verify checkpoints, by key id (earlier keys included) */
        get: operations["listAuditKeys"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/checkpoint/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Prove that the ledger still extends a checkpoint saved earlier (operators)
         * @description The checkpoint must be signed by a known key, and the chain, intact, must pass through its size and head hash. A ledger rewritten at or before that size, or cut below it, fails.
         */
        post: operations["verifyAuditCheckpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/receipts/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The receipt of one audit record: the record, the signed checkpoint that holds it, and the Merkle inclusion proof
         * @description Given for the record's receipt key, which only the answer to its issuance carries: a record's id and hash, public or chained, open nothing. A record no checkpoint covers yet gets one signed at once; `409 receipt_pending` only when that fails.
         */
        get: operations["getAuditReceipt"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        CredentialRequestInput: {
            /** @description Cluster to get a credential for; the grant's default when absent */
            cluster?: string;
            /** @description Namespace of the grant to use */
            namespace?: string;
            /** @description ServiceAccount of the grant to use */
            serviceAccount?: string;
            /** @description Wanted lifetime; clamped to at least 600 s and at most the grant's maximum */
            ttlSeconds?: number;
            /** @description Audiences of the issued token, within those the grant allows */
            audiences?: string[];
            /**
             * @description `short-lived` (default): a TokenRequest token; `durable`: a Secret-based token, where the grant allows it
             * @enum {string}
             */
            kind?: "short-lived" | "durable";
            /** @description Several clusters at once: one kubeconfig with a context each, all or nothing. Not with `cluster` */
            clusters?: string[];
            /**
             * @description `json` (envelope), `kubeconfig` (bare YAML, as with `Accept: application/yaml`), `exec-credential` (for kubectl exec plugins; one cluster), `env` (NAME=value lines)
             * @default json
             * @enum {string}
             */
            format?: "json" | "kubeconfig" | "exec-credential" | "env";
        };
        ExplainRequestInput: {
            /** @description Cluster to get a credential for; the grant's default when absent */
            cluster?: string;
            /** @description Namespace of the grant to use */
            namespace?: string;
            /** @description ServiceAccount of the grant to use */
            serviceAccount?: string;
            /** @description Wanted lifetime; clamped to at least 600 s and at most the grant's maximum */
            ttlSeconds?: number;
            /** @description Audiences of the issued token, within those the grant allows */
            audiences?: string[];
            /**
             * @description `short-lived` (default): a TokenRequest token; `durable`: a Secret-based token, where the grant allows it
             * @enum {string}
             */
            kind?: "short-lived" | "durable";
            /** @description Operators only: explain these claims instead of the caller's own token */
            identity?: {
                /** @description Name of an issuer entry of the policy */
                issuer: string;
                /** @description The claims to decide for */
                claims: {
                    [key: string]: unknown;
                };
            };
        };
        RevokeRequestInput: {
            /** @description Suspend this pipeline and revoke every active issuance of it */
            pipeline: string;
            /** @description Only those in this cluster */
            cluster?: string;
        };
        RotateRequestInput: {
            /**
             * @description As for POST /v1/credentials
             * @default json
             * @enum {string}
             */
            format?: "json" | "kubeconfig" | "exec-credential" | "env";
        };
        /** @description An RFC 9457 problem; `code` is stable */
        Problem: {
            type: string;
            title: string;
            status: number;
            detail: string;
            instance: string;
            /** @enum {string} */
            code: "token_missing" | "token_malformed" | "token_too_large" | "issuer_unknown" | "algorithm_not_allowed" | "signature_invalid" | "token_expired" | "token_not_yet_valid" | "audience_mismatch" | "claim_invalid" | "token_too_old" | "key_unknown" | "token_replayed" | "issuer_unavailable" | "pipeline_not_matched" | "conditions_not_met" | "grant_not_allowed" | "operator_required" | "pipeline_suspended" | "cluster_unknown" | "bad_request" | "invalid_request" | "cursor_invalid" | "malformed_body" | "body_too_large" | "unsupported_media_type" | "route_not_found" | "issuance_not_found" | "suspension_not_found" | "checkpoint_not_found" | "receipt_not_found" | "receipt_pending" | "method_not_allowed" | "request_timeout" | "url_too_long" | "expectation_failed" | "headers_too_large" | "kube_object_not_found" | "kube_forbidden" | "kube_rejected" | "kube_error" | "kube_timeout" | "durable_token_timeout" | "rbac_escalation_refused" | "cluster_unreachable" | "cluster_throttled" | "store_unavailable" | "audit_sink_unavailable" | "rate_limited" | "overloaded" | "internal_error";
            errors?: {
                /** @description Where in the request the error is, as a JSON pointer */
                path: string;
                message: string;
            }[];
        };
        AuditRecord: {
            id: number;
            /** Format: date-time */
            time: string;
            /** @enum {string} */
            kind: "issuance" | "revocation" | "expiry" | "rotation" | "suspension" | "refusals";
            /** @enum {string} */
            outcome: "granted" | "denied" | "failed";
            requestId: string | null;
            /** @description The problem code of a refusal or failure */
            reasonCode: string | null;
            reason: string | null;
            clientAddress: string | null;
            issuer: string | null;
            /** @description The CI identity's claims; `jti` is the CI token's own id */
            claims: {
                repository?: string;
                project?: string;
                ref?: string;
                sha?: string;
                workflow?: string;
                runId?: string;
                jobId?: string;
                environment?: string;
                actor?: string;
                jti?: string;
            };
            pipeline: string | null;
            grant: string | null;
            cluster: string | null;
            namespace: string | null;
            serviceAccount: string | null;
            objects: {
                kind: string;
                name: string;
                namespace?: string;
            }[];
            requestedTtlSeconds: number | null;
            actualTtlSeconds: number | null;
            audiences: string[];
            tokenKind: ("short-lived" | "durable") | null;
            /** @description The Kubernetes token's jti: credential-id in API-server audit events */
            kubeTokenJti: string | null;
            /** @description HMAC of the issued token; never the token */
            tokenFingerprint: string | null;
            issuanceId: string | null;
            prevHash: string;
            /** @description SHA-256 over prevHash and this record: the tamper-evident chain */
            hash: string;
        };
        ChainVerification: {
            ok: boolean;
            /** @description Records checked before any break */
            count: number;
            /** @description The first record whose link is broken */
            recordId?: number;
            /**
             * @description What broke; the `checkpoint_` ones and `shorter_than_checkpoint` say the ledger no longer extends a signed checkpoint
             * @enum {string}
             */
            problem?: "content_changed" | "link_broken" | "missing" | "head_mismatch" | "shorter_than_checkpoint" | "checkpoint_differs" | "checkpoint_pruned" | "below_anchor" | "outside_chain" | "unknown_key" | "signature_invalid";
            detail?: string;
        };
        AuditReceipt: {
            /** @description The audit record (AuditRecord), every field as the ledger hashed it */
            record: {
                id: number;
                /** Format: date-time */
                time: string;
                prevHash: string;
                hash: string;
            } & {
                [key: string]: unknown;
            };
            checkpoint: {
                /** @description The installation that signed it (KUBEVEND_INSTANCE) */
                origin: string;
                /** @description Records the ledger had ever held: the id of the last one */
                size: number;
                /** @description The chain hash of record `size` */
                headHash: string;
                /** @description The size of the checkpoint before; the batch is the records after it */
                fromSize: number;
                /** @description RFC 9162 Merkle tree head over the chain hashes of records fromSize+1 to size */
                batchRoot: string;
                /** Format: date-time */
                time: string;
                /** @description Which public key verifies it (GET /v1/audit/keys) */
                keyId: string;
                /** @description Ed25519 over the checkpoint's text form, base64 */
                signature: string;
            };
            /** @description The inclusion proof, leaf to root, hex */
            proof: string[];
        };
        AuditCheckpoint: {
            /** @description The installation that signed it (KUBEVEND_INSTANCE) */
            origin: string;
            /** @description Records the ledger had ever held: the id of the last one */
            size: number;
            /** @description The chain hash of record `size` */
            headHash: string;
            /** @description The size of the checkpoint before; the batch is the records after it */
            fromSize: number;
            /** @description RFC 9162 Merkle tree head over the chain hashes of records fromSize+1 to size */
            batchRoot: string;
            /** Format: date-time */
            time: string;
            /** @description Which public key verifies it (GET /v1/audit/keys) */
            keyId: string;
            /** @description Ed25519 over the checkpoint's text form, base64 */
            signature: string;
        };
        CredentialEnvelope: {
            /** @description Identifies the issuance in the ledger and for revocation */
            issuanceId: string;
            cluster: string;
            namespace: string;
            serviceAccount: string;
            /** @enum {string} */
            kind: "short-lived" | "durable";
            /**
             * Format: date-time
             * @description When the token expires: as the API server granted it, or as kubevend enforces it for durable tokens
             */
            expiresAt: string;
            /** @description Warnings the API server sent, such as a shortened lifetime */
            warnings: string[];
            /** @description The issuance's ledger record, for a receipt (docs/audit-proofs.md) */
            audit: {
                /** @description The ledger record of this issuance */
                recordId: number;
                /** @description Its chain hash, as its receipt shows it */
                recordHash: string;
                /** @description Where its receipt is (every format also names it in the `kubevend-audit-records` header) */
                receipt: string;
            };
            /** @description The policy pipeline that granted it */
            pipeline: string;
            /** @description A kubeconfig with one context per cluster, named after the cluster */
            kubeconfig: string;
            /** @description Every cluster's issuance; the first is also described at the top level */
            issuances: {
                /** @description Identifies the issuance in the ledger and for revocation */
                issuanceId: string;
                cluster: string;
                namespace: string;
                serviceAccount: string;
                /** @enum {string} */
                kind: "short-lived" | "durable";
                /**
                 * Format: date-time
                 * @description When the token expires: as the API server granted it, or as kubevend enforces it for durable tokens
                 */
                expiresAt: string;
                /** @description Warnings the API server sent, such as a shortened lifetime */
                warnings: string[];
                /** @description The issuance's ledger record, for a receipt (docs/audit-proofs.md) */
                audit: {
                    /** @description The ledger record of this issuance */
                    recordId: number;
                    /** @description Its chain hash, as its receipt shows it */
                    recordHash: string;
                    /** @description Where its receipt is (every format also names it in the `kubevend-audit-records` header) */
                    receipt: string;
                };
            }[];
        };
        ExecCredential: {
            /** @constant */
            apiVersion: "client.authentication.k8s.io/v1";
            /** @constant */
            kind: "ExecCredential";
            status: {
                /** @description The Kubernetes bearer token */
                token: string;
                /**
                 * Format: date-time
                 * @description When the token expires; kubectl runs the plugin again after it
                 */
                expirationTimestamp: string;
            };
        };
        Explanation: {
            /** @enum {string} */
            decision: "granted" | "denied";
            identity: {
                issuer: string;
                subject?: string;
            };
            /** @description What the request would get */
            grant?: {
                pipeline: string;
                grantIndex: number;
                cluster: string;
                namespace: string;
                /** @description How the credential gets its permissions: an existing ServiceAccount, a generated one bound to a role, or generated rules */
                access: {
                    /** @constant */
                    mode: "existing";
                    serviceAccount: string;
                } | {
                    /** @constant */
                    mode: "bind";
                    roleRef: {
                        /** @enum {string} */
                        kind: "Role" | "ClusterRole";
                        name: string;
                    };
                    /** @enum {string} */
                    scope: "namespace" | "cluster";
                } | {
                    /** @constant */
                    mode: "rules";
                    rules: {
                        /**
                         * @description "" is the core group
                         * @default [
                         *       ""
                         *     ]
                         */
                        apiGroups: string[];
                        resources?: string[];
                        verbs: string[];
                        resourceNames?: string[];
                        /** @description Only with scope cluster */
                        nonResourceURLs?: string[];
                    }[];
                    /** @enum {string} */
                    scope: "namespace" | "cluster";
                };
                /** @enum {string} */
                tokenKind: "short-lived" | "durable";
                ttlSeconds: number;
                audiences?: string[];
            };
            /** @description Why the request would be refused */
            denial?: {
                code: string;
                detail: string;
            };
            /** @description Operators: every pipeline, in the order they are tried. Others: those whose issuer and claims the identity fits */
            pipelines: {
                pipeline: string;
                /**
                 * @description Where the pipeline stopped: another issuer, a claim, a condition, no fitting grant, suspended; or granted
                 * @enum {string}
                 */
                stage: "issuer" | "match" | "conditions" | "grants" | "suspended" | "granted";
                /** @description The issuer the pipeline wants, when it is another */
                issuer?: string;
                mismatches: {
                    claim: string;
                    expected: string[];
                    /** @description The identity's value; absent when the claim is missing */
                    actual?: string;
                }[];
                grants: {
                    index: number;
                    fits: boolean;
                    reason?: string;
                }[];
            }[];
        };
        Readiness: {
            /**
             * @description unavailable (503): the store does not answer, nothing can be issued; degraded: some clusters do not answer, or the checkpoint signer refuses
             * @enum {string}
             */
            status: "ok" | "degraded" | "unavailable";
            checks: {
                policy: {
                    /** @description sha256 prefix of the policy text in force */
                    version: string;
                    /** Format: date-time */
                    loadedAt: string;
                    /** @description The newest file on disk was refused; the policy above still serves */
                    reloadError?: {
                        message: string;
                        /** Format: date-time */
                        at: string;
                    };
                };
                store: {
                    ok: boolean;
                    detail?: string;
                };
                /** @description Each cluster's API server version, or why it does not answer */
                clusters: {
                    [key: string]: {
                        ok: boolean;
                        detail?: string;
                    };
                };
                /** @description With signed checkpoints: not ok while the signer refuses a ledger that does not extend what it signed */
                auditSigning?: {
                    ok: boolean;
                    detail?: string;
                };
            };
        };
        Issuance: {
            id: string;
            pipeline: string;
            /** @description The issuer entry that vouched for the CI job */
            issuer: string;
            /** @description The CI token's `sub` */
            subject: string;
            cluster: string;
            namespace: string;
            serviceAccount: string;
            /** @enum {string} */
            tokenKind: "short-lived" | "durable";
            /** @description The Kubernetes token's `jti`: API-server audit events carry it as credential-id */
            kubeTokenJti: string | null;
            objects: {
                kind: string;
                name: string;
                namespace?: string;
            }[];
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            expiresAt: string;
            /**
             * @description pending: being issued; active; failed: nothing was handed out; expired; revoked
             * @enum {string}
             */
            state: "pending" | "active" | "failed" | "expired" | "revoked";
            revokedAt: string | null;
            revokedBy: string | null;
            expiredAt: string | null;
        };
        Suspension: {
            pipeline: string;
            /** @description The one cluster suspended; null for all */
            cluster: string | null;
            /** Format: date-time */
            suspendedAt: string;
            suspendedBy: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    liveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "ok";
                    };
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    readiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description Default Response */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    issueCredential: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CredentialRequestInput"];
            };
        };
        responses: {
            /** @description The credential, in the `format` asked: `json` the envelope, `exec-credential` an ExecCredential (both JSON, told apart by `kind`), `kubeconfig` (or `Accept: application/yaml`) the bare kubeconfig, `env` NAME=value lines */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialEnvelope"] | components["schemas"]["ExecCredential"];
                    "application/yaml": string;
                    "text/plain": string;
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    explainCredential: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ExplainRequestInput"];
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Explanation"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listIssuances: {
        parameters: {
            query?: {
                pipeline?: string;
                cluster?: string;
                state?: "pending" | "active" | "failed" | "expired" | "revoked";
                /** @description `nextCursor` of the page before */
                cursor?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Issuance"][];
                        nextCursor: string | null;
                    };
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getIssuance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Issuance"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    revokeIssuance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Issuance"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    rotateIssuance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RotateRequestInput"];
            };
        };
        responses: {
            /** @description The credential, in the `format` asked: `json` the envelope, `exec-credential` an ExecCredential (both JSON, told apart by `kind`), `kubeconfig` (or `Accept: application/yaml`) the bare kubeconfig, `env` NAME=value lines */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialEnvelope"] | components["schemas"]["ExecCredential"];
                    "application/yaml": string;
                    "text/plain": string;
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    revokePipeline: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RevokeRequestInput"];
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        suspension: components["schemas"]["Suspension"];
                        revoked: components["schemas"]["Issuance"][];
                    };
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listSuspensions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Suspension"][];
                    };
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    liftSuspension: {
        parameters: {
            query?: {
                /** @description The cluster the suspension names, if it names one */
                cluster?: string;
            };
            header?: never;
            path: {
                pipeline: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {boolean} */
                        lifted: true;
                    };
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listAudit: {
        parameters: {
            query?: {
                pipeline?: string;
                /** @description The CI identity's repository (GitHub) */
                repository?: string;
                /** @description The CI identity's project path (GitLab) */
                project?: string;
                cluster?: string;
                namespace?: string;
                outcome?: "granted" | "denied" | "failed";
                kind?: "issuance" | "revocation" | "expiry" | "rotation" | "suspension" | "refusals";
                issuanceId?: string;
                /** @description Records at or after this time */
                from?: string;
                /** @description Records before this time */
                to?: string;
                /** @description `nextCursor` of the page before */
                cursor?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of records, or all of them as NDJSON */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["AuditRecord"][];
                        nextCursor: string | null;
                    };
                    "application/x-ndjson": string;
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    verifyAudit: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChainVerification"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getAuditCheckpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditCheckpoint"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listAuditKeys: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        keys: {
                            keyId: string;
                            /** @description SPKI PEM */
                            publicKey: string;
                        }[];
                    };
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    verifyAuditCheckpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The installation that signed it (KUBEVEND_INSTANCE) */
                    origin: string;
                    /** @description Records the ledger had ever held: the id of the last one */
                    size: number;
                    /** @description The chain hash of record `size` */
                    headHash: string;
                    /** @description The size of the checkpoint before; the batch is the records after it */
                    fromSize: number;
                    /** @description RFC 9162 Merkle tree head over the chain hashes of records fromSize+1 to size */
                    batchRoot: string;
                    /** Format: date-time */
                    time: string;
                    /** @description Which public key verifies it (GET /v1/audit/keys) */
                    keyId: string;
                    /** @description Ed25519 over the checkpoint's text form, base64 */
                    signature: string;
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChainVerification"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getAuditReceipt: {
        parameters: {
            query: {
                /** @description The record's receipt key, from its issuance's answer */
                key: string;
            };
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditReceipt"];
                };
            };
            /** @description The request was refused; `code` says why */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description kubevend or a Kubernetes API server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}

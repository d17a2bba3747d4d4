/**
 * Errors of the control-plane client and applier. `kind` is a stable string callers switch on: an
 * agent treats "unreachable" and "timeout" as "keep running on the last verified state and retry",
 * and "permission-denied" as a configuration fault to report, never to retry blindly.
 */
export type ControlPlaneFailure = "permission-denied" | "unreachable" | "timeout" | "closed" | "protocol";

const HINT: Record<ControlPlaneFailure, string> = {
  "permission-denied":
    "the control plane refused this identity for that key; the certificate's CN is the etcd user, check its role in the access plan (zeroroot controlplane plan)",
  unreachable:
    "no member answered over mutual TLS; check the endpoints, that a member is up, and that the client certificate chains to the platform root (a missing, foreign-CA or expired certificate is refused during the handshake)",
  timeout: "no answer within the deadline; the cluster may have lost quorum or be overloaded",
  closed: "the client was closed; make a new one",
  protocol: "the control plane answered with an unexpected error",
};

export class ControlPlaneError extends Error {
  constructor(
    readonly kind: ControlPlaneFailure,
    /** What was attempted, e.g. `get /computers/dc1-s1/desired`. */
    readonly operation: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`control plane: ${operation}: ${kind} (${detail}); ${HINT[kind]}`, options);
    this.name = "ControlPlaneError";
  }
}

export class PermissionDeniedError extends ControlPlaneError {
  constructor(operation: string, detail: string, options?: { cause?: unknown }) {
    super("permission-denied", operation, detail, options);
    this.name = "PermissionDeniedError";
  }
}

export class UnreachableError extends ControlPlaneError {
  constructor(
    kind: "unreachable" | "timeout",
    operation: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(kind, operation, detail, options);
    this.name = "UnreachableError";
  }
}

/** A plan or option that cannot be right: says where, what was received, what is allowed. */
export class ControlPlaneConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlPlaneConfigError";
  }
}

/** etcdctl (or the etcd API) refused a step of applying the access plan. */
export class ApplyError extends Error {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`applying the control-plane access plan: ${step} failed: ${detail}`);
    this.name = "ApplyError";
  }
}

// The trace a request gets when no telemetry SDK is listening: every call is a no-op. Shared, so
// the request path can tell that an attempt injects no trace headers (and need not copy the
// header record for them).

import type { AttemptTrace, RequestTrace } from '@meshlet/core';

export const NO_ATTEMPT_TRACE: AttemptTrace = { inject() {}, end() {} };
export const NO_TRACE: RequestTrace = { attempt: () => NO_ATTEMPT_TRACE, inject() {}, event() {}, end() {} };

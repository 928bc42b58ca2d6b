// Typed errors of the baselines (name + message survive structured cloning across a worker boundary).

/** A model/session problem the caller can act on (missing input, bad config, unreachable file). */
export class OrtBaselineError extends Error {
  override name = 'OrtBaselineError';
}

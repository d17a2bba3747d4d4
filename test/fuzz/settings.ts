/**
 * FUZZ_SEED and FUZZ_COUNT, read once for the fuzz tier. A bad value is refused with the variable's
 * name, what was received and what is allowed, rather than silently replaced by the default.
 */
export const DEFAULT_SEED = 20_261_201;
export const DEFAULT_COUNT = 100_000;

function envInteger(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = /^(0x[0-9a-f]+|\d+)$/i.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value > max) {
    throw new Error(
      `${name}=${JSON.stringify(raw)} is not allowed: give a whole number from 0 to ${max} (decimal or 0x hex), or unset it for ${fallback}`,
    );
  }
  return value;
}

export const fuzzSeed = () => envInteger("FUZZ_SEED", DEFAULT_SEED, 0xffffffff);
export const fuzzCount = () => envInteger("FUZZ_COUNT", DEFAULT_COUNT, 10_000_000);

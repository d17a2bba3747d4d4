/**
 * LAB STAND-IN for the `random` provider's RandomPassword (`@pulumi/random`). With the Pulumi CLI the
 * engine downloads pulumi-resource-random and it makes the password; this workplace has no CLI and
 * cannot download plugins, so the lab runner plays that provider's part for this one resource:
 * a password from node:crypto's CSPRNG honouring the inputs that shape it (length, upper, lower,
 * numeric, special, overrideSpecial, min*), kept in the runner's state file as a secret (encrypted
 * with the stack's passphrase, as Pulumi keeps it) and made again only when an input changes (every
 * input of the real resource forces a replacement, keepers included). The real provider also
 * outputs `bcryptHash`; nothing of zeroroot reads it, so the stand-in does not make one.
 * Not product code: nothing outside lab/ imports it.
 */
import { randomInt } from "node:crypto";

export const RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC = "0123456789";
/** The random provider's default special characters. */
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";
/** The real provider accepts any length; the lab bounds it before doing work. */
const MAX_LENGTH = 1024;

type Props = Record<string, unknown>;

const flag = (v: unknown, dflt: boolean): boolean => (typeof v === "boolean" ? v : dflt);
const count = (p: Props, k: string): number => {
  const v = p[k] ?? 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_LENGTH)
    throw new Error(
      `RandomPassword (lab stand-in): ${k} is ${JSON.stringify(v)}; give a whole number in 0..${MAX_LENGTH}`,
    );
  return v;
};

/** A password as the random provider makes one from these inputs; throws on inputs it would refuse. */
export function generatePassword(inputs: Props): string {
  const length = inputs.length;
  if (typeof length !== "number" || !Number.isInteger(length) || length < 1 || length > MAX_LENGTH)
    throw new Error(
      `RandomPassword (lab stand-in): length is ${JSON.stringify(length)}; give a whole number in 1..${MAX_LENGTH}`,
    );
  const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : SPECIAL;
  const classes = [
    { chars: UPPER, on: flag(inputs.upper, true), min: count(inputs, "minUpper") },
    { chars: LOWER, on: flag(inputs.lower, true), min: count(inputs, "minLower") },
    { chars: NUMERIC, on: flag(inputs.numeric, flag(inputs.number, true)), min: count(inputs, "minNumeric") },
    {
      chars: special,
      on: flag(inputs.special, true) && special.length > 0,
      min: count(inputs, "minSpecial"),
    },
  ];
  const pool = classes
    .filter((c) => c.on)
    .map((c) => c.chars)
    .join("");
  if (pool.length === 0)
    throw new Error(
      "RandomPassword (lab stand-in): upper, lower, numeric and special are all off; enable one",
    );
  const mins = classes.reduce((n, c) => n + (c.on ? c.min : 0), 0);
  if (mins > length)
    throw new Error(
      `RandomPassword (lab stand-in): the min* inputs add up to ${mins}, more than length ${length}`,
    );
  const pick = (chars: string) => chars[randomInt(chars.length)];
  const out: string[] = [];
  for (const c of classes) if (c.on) for (let i = 0; i < c.min; i++) out.push(pick(c.chars));
  while (out.length < length) out.push(pick(pool));
  // Fisher-Yates with the CSPRNG, so the required characters are not always first.
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.join("");
}

/** Inputs as compared for replacement: every input, keepers included (all force a new password). */
export function sameRandomInputs(a: Props, b: Props): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Props)
            .filter(([, x]) => x !== undefined)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([k, x]) => [k, canon(x)]),
        )
      : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

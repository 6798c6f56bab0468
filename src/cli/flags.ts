/**
 * Readers of flag values, one per kind of value. Each takes the text the user
 * typed and returns the value, or throws an InvalidArgumentError whose sentence
 * says what the flag takes; commander prefixes it with the flag and the value
 * ("option '--ops <N>' argument 'abc' is invalid."), so every refusal names both.
 */
import { InvalidArgumentError } from "commander";
import { accessSync, constants, mkdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PROFILES, profileByName } from "../kvm/profile.js";

const group = (n: number) => n.toLocaleString("en-US");

/** A whole number in [min, max], written in decimal digits (underscores may group them: 1_000_000). */
export function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const digits = text.replace(/_/g, "");
    const n = Number(digits);
    if (!/^\d+$/.test(digits) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`It takes a whole number from ${group(min)} to ${group(max)}, written in digits.`);
    return n;
  };
}

/** A number of seconds, above 0 (or at least `min`) and at most `max`, decimals allowed. */
export function seconds(max: number, min = 0): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || !(n > min || (min > 0 && n === min)) || n > max)
      throw new InvalidArgumentError(`It takes a number of seconds ${min > 0 ? `from ${group(min)}` : "above 0"} and at most ${group(max)}.`);
    return n;
  };
}

/** A range of seeds A..B (or one seed A), whole numbers from 0 to max with A <= B. */
export function seedRange(max: number): (text: string) => [number, number] {
  return (text) => {
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(text.replace(/_/g, ""));
    const a = m ? Number(m[1]) : NaN;
    const b = m ? Number(m[2] ?? m[1]) : NaN;
    if (!(a >= 0 && b <= max && a <= b && Number.isSafeInteger(b))) throw new InvalidArgumentError(`It takes a range A..B of seeds (whole numbers from 0 to ${group(max)}, A <= B), or one seed.`);
    return [a, b];
  };
}

/** A kernel profile name, as profileByName() knows them. */
export function kernelProfile(text: string): string {
  try {
    return profileByName(text).name;
  } catch (e) {
    // profileByName()'s sentence names the unknown version or option, or the conflict, and lists the known ones.
    throw new InvalidArgumentError(`It takes a kernel profile, VERSION[+OPTION...]: ${(e as Error).message}.`);
  }
}

export const profileNames = (): string => Object.keys(PROFILES).join(", ");

/** A file that exists and can be read (checked now, so that a typo fails before any work). */
export function readableFile(text: string): string {
  if (text === "-") return text;
  try {
    if (!statSync(text).isFile()) throw new InvalidArgumentError("It takes a file, and this is not a regular file.");
    accessSync(text, constants.R_OK);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(`It takes a readable file: ${(e as Error).message}.`);
  }
  return text;
}

/**
 * A directory that can be made (if missing) and written: checked by making it
 * and a probe file in it, then removing what the check made, so that a run
 * that cannot save its report fails before it starts. Missing levels are made
 * one by one (a recursive mkdir under /proc can loop), from the deepest
 * existing ancestor, which must be a directory.
 */
export function writableDir(text: string): string {
  const made: string[] = [];
  try {
    const full = resolve(text);
    const missing: string[] = [];
    let at = full;
    for (;;) {
      try {
        if (!statSync(at).isDirectory()) throw new InvalidArgumentError(`It takes a directory, and ${at} is not one.`);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        missing.unshift(at);
        const up = dirname(at);
        if (up === at) break;
        at = up;
      }
    }
    for (const dir of missing) {
      mkdirSync(dir);
      made.unshift(dir);
    }
    const probe = join(full, `.gmemsim-probe-${process.pid}`);
    writeFileSync(probe, "");
    unlinkSync(probe);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(`It takes a directory gmemsim can make and write to: ${(e as Error).message}.`);
  } finally {
    for (const dir of made) {
      try {
        rmdirSync(dir);
      } catch {}
    }
  }
  return text;
}

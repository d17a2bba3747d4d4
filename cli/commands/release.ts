/**
 * `zeroroot release sign|verify|digest`: signed software releases. Thin argument handling around
 * lib/release; every refusal becomes a UserError (exit 1) naming the file, what was wrong, and the fix.
 * A key passphrase comes from a file descriptor, never from the command line (shell history, `ps`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import YAML from "yaml";
import * as pki from "../../lib/pki";
import * as release from "../../lib/release";
import { UsageError, UserError } from "../errors";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  const cmd = program
    .command("release")
    .description("Signed software releases: sign a manifest, verify it as a node does, digest files");
  cmd
    .command("sign")
    .description(
      "Sign a release manifest (JSON or YAML) with a software-signing (codeSigning) certificate's key",
    )
    .requiredOption("--manifest <file>", "release manifest (see docs/release.md)")
    .requiredOption("--key <file>", "signer's private key (PKCS#8 PEM, encrypted or not)")
    .requiredOption("--cert <file>", "signer's software-signing certificate (PEM)")
    .option("--chain <file>", "issuer certificates to attach (the data center's issuing CA)")
    .option("--files-dir <dir>", "check every listed file's digest against this directory before signing")
    .option("--passphrase-fd <n>", "read the key passphrase from this file descriptor (encrypted keys)")
    .requiredOption("--out <file>", "signed release output (JSON)")
    .action((o: SignOptions) => sign(o));
  cmd
    .command("verify")
    .description(
      "Verify a signed release as a node does; exit 0 when accepted, 1 with the reason when refused",
    )
    .requiredOption("--root <file>", "trusted root certificate")
    .requiredOption(
      "--authorised <file>",
      'authorisation list (JSON: {"signers": [{"identity": "dc1/software/alice", "releases": ["mariadb-*"]}]})',
    )
    .option("--last-version <v>", "last accepted version of this release name; a lower one is refused")
    .option(
      "--last-digest <digest>",
      "manifest digest of --last-version; the same version with another digest is refused",
    )
    .option("--files-dir <dir>", "directory holding the release's files, to check their digests")
    .option("--crl <file>", "CRL of the signer's issuing CA (repeatable)", collect, [])
    .argument("<signed>", "signed release (JSON, as written by `release sign`)")
    .action((signed: string, o: VerifyOptions) => verify(signed, o));
  cmd
    .command("digest")
    .description("Print manifest file entries (path, sha256, size) for the given files, as JSON")
    .option("--base <dir>", "directory the manifest paths are relative to", ".")
    .argument("<files...>", "files of the release")
    .action((files: string[], o: { base: string }) => digest(files, o.base));
}

interface SignOptions {
  manifest: string;
  key: string;
  cert: string;
  chain?: string;
  filesDir?: string;
  passphraseFd?: string;
  out: string;
}

interface VerifyOptions {
  root: string;
  authorised: string;
  lastVersion?: string;
  lastDigest?: string;
  filesDir?: string;
  crl: string[];
}

function sign(o: SignOptions): void {
  const manifest = readStructured(o.manifest, "--manifest");
  try {
    release.validateManifest(manifest);
  } catch (err) {
    if (err instanceof release.ManifestError) throw new UserError(`--manifest ${o.manifest}: ${err.message}`);
    throw err;
  }
  const certificatePem = readText(o.cert, "--cert");
  checkSigningCertificate(certificatePem, o.cert);
  const keyText = readText(o.key, "--key");
  const encrypted = keyText.includes("ENCRYPTED");
  if (encrypted && o.passphraseFd === undefined)
    throw new UsageError(
      `--key ${o.key} is encrypted; pass its passphrase with --passphrase-fd N (e.g. 3<passfile)`,
    );
  const passphrase = o.passphraseFd !== undefined ? readPassphraseFd(o.passphraseFd) : undefined;
  let privateKey;
  try {
    privateKey = pki.loadPrivateKey(keyText, encrypted ? passphrase : undefined);
  } catch (err) {
    if (err instanceof pki.PkiError) throw new UserError(`--key ${o.key}: ${err.message}`);
    throw err;
  }
  const chainPem = o.chain ? readText(o.chain, "--chain") : undefined;
  let signed: release.SignedRelease;
  try {
    signed = release.signRelease(manifest, { privateKey, certificatePem, chainPem });
  } catch (err) {
    if (err instanceof release.SigningError || err instanceof release.CanonicalFormError)
      throw new UserError(`${o.key} / ${o.cert}: ${err.message}`);
    if (err instanceof release.ManifestError) throw new UserError(`--manifest ${o.manifest}: ${err.message}`);
    throw err;
  }
  if (o.filesDir) checkFiles(signed.manifest, o.filesDir);
  fs.writeFileSync(o.out, `${JSON.stringify(signed, null, 2)}\n`);
  print(
    `signed ${signed.manifest.name} ${signed.manifest.version} (${release.manifestDigest(signed.manifest)}) → ${o.out}`,
  );
}

/** Refuses early what every node would refuse later: a certificate without codeSigning, or expired. */
function checkSigningCertificate(pem: string, file: string): void {
  let info: pki.CertInfo;
  try {
    info = pki.parseCertificate(pem);
  } catch (err) {
    throw new UserError(
      `--cert ${file}: ${(err as Error).message}; give the PEM software-signing certificate`,
    );
  }
  const name = pki.escapeForMessage(info.commonName);
  if (
    !info.extendedKeyUsage.includes("1.3.6.1.5.5.7.3.3") ||
    !info.uris.some((u) => u.startsWith("zeroroot://software."))
  ) {
    throw new UserError(
      `--cert ${file}: "${name}" is not a software-signing certificate (codeSigning EKU and a zeroroot://software.<dc>.<domain>/<name> identity); get one with \`zeroroot pki sign --kind software\``,
    );
  }
  if (info.notAfter < new Date())
    throw new UserError(`--cert ${file}: "${name}" expired at ${info.notAfter.toISOString()}; renew it`);
}

/** Sizes first, then digests, as a node checks them. */
function checkFiles(manifest: release.ReleaseManifest, dir: string): void {
  const source = release.directoryFileSource(dir);
  const fix = "update the manifest with `zeroroot release digest`";
  for (const f of manifest.files) {
    const size = source.size(f.path);
    if (size === undefined)
      throw new UserError(
        `--files-dir ${dir}: file "${f.path}" listed in the manifest is missing (or not a regular file)`,
      );
    if (size !== f.size)
      throw new UserError(
        `--files-dir ${dir}: "${f.path}" is ${size} bytes, the manifest says ${f.size}; ${fix}`,
      );
  }
  for (const f of manifest.files) {
    const d = source.digest(f.path, f.size);
    if (!d || d.sha256 !== f.sha256 || d.size !== f.size) {
      throw new UserError(
        `--files-dir ${dir}: "${f.path}" has sha256 ${d?.sha256 ?? "(unreadable)"}, the manifest says ${f.sha256}; ${fix}`,
      );
    }
  }
}

function verify(signedFile: string, o: VerifyOptions): void {
  if (o.lastVersion !== undefined && !release.parseSemVer(o.lastVersion)) {
    throw new UsageError(
      `--last-version "${o.lastVersion}" is not a semantic version; allowed: MAJOR.MINOR.PATCH[-pre], e.g. 10.11.6`,
    );
  }
  if (o.lastDigest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(o.lastDigest)) {
    throw new UsageError(
      `--last-digest "${o.lastDigest}" must be sha256:<64 hex>, as \`release verify\` prints it`,
    );
  }
  if (o.filesDir !== undefined && !fs.statSync(o.filesDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--files-dir ${o.filesDir} is not a directory`);
  }
  let authorisation: release.AuthorisationList;
  try {
    authorisation = release.parseAuthorisationList(
      readStructured(o.authorised, "--authorised"),
      `--authorised ${o.authorised}`,
    );
  } catch (err) {
    if (err instanceof release.AuthorisationError) throw new UserError(err.message);
    throw err;
  }
  const r = release.verifyReleaseText(
    readText(signedFile, "signed release", release.RELEASE_LIMITS.documentBytes),
    {
      root: readText(o.root, "--root"),
      authorisation,
      crls: o.crl.length ? o.crl.map((f) => readText(f, "--crl")) : undefined,
      lastAcceptedVersion: o.lastVersion,
      lastAcceptedDigest: o.lastDigest,
      files: o.filesDir !== undefined ? release.directoryFileSource(o.filesDir) : undefined,
    },
  );
  if (!r.ok) throw new UserError(`${signedFile}: refused (${r.reason}): ${r.detail}`);
  const files = r.filesChecked
    ? `${r.manifest.files.length} file(s) checked`
    : "files NOT checked (no --files-dir)";
  print(
    `${signedFile}: OK ${r.manifest.name} ${r.manifest.version} ${r.manifestDigest}, signed by ${r.signer.identity}; ${files}`,
  );
}

function digest(files: string[], base: string): void {
  const root = path.resolve(base);
  const entries = files.map((f) => {
    const rel = path.relative(root, path.resolve(f));
    if (rel.startsWith("..") || path.isAbsolute(rel))
      throw new UsageError(`${f} is outside --base ${base}; run from the release directory or pass --base`);
    if (!fs.statSync(f, { throwIfNoEntry: false })?.isFile()) throw new UserError(`${f}: not a regular file`);
    return { path: rel.split(path.sep).join("/"), ...release.digestFile(f) };
  });
  print(JSON.stringify(entries, null, 2));
}

/** A file's text; with `maxBytes`, a larger file is refused before it is read. */
function readText(file: string, what: string, maxBytes = 16 << 20): string {
  try {
    const size = fs.statSync(file).size;
    if (size > maxBytes)
      throw new UserError(
        `${what}: ${file} is ${size} bytes; at most ${maxBytes} are read (is it the right file?)`,
      );
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** JSON, or YAML for files named *.yaml / *.yml. */
function readStructured(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `${what} ${file}: not valid ${/\.ya?ml$/i.test(file) ? "YAML" : "JSON"} (${(err as Error).message})`,
    );
  }
}

function readPassphraseFd(fd: string): string {
  if (!/^\d+$/.test(fd)) throw new UsageError(`--passphrase-fd "${fd}" must be a file descriptor number`);
  let text: string;
  try {
    text = fs.readFileSync(Number(fd), "utf8").split(/\r?\n/)[0];
  } catch (err) {
    throw new UsageError(
      `--passphrase-fd ${fd}: cannot read (${(err as NodeJS.ErrnoException).code ?? "error"}); open it in the shell, e.g. 3<passfile`,
    );
  }
  if (!text) throw new UserError(`no passphrase could be read from file descriptor ${fd}`);
  return text;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

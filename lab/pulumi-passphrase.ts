/**
 * Pulumi's passphrase secrets provider, for the lab harness only: the lab runner evaluates stack
 * programs without the Pulumi CLI, so it must decrypt `secure:` config values the way the CLI
 * would before handing them to the program, and the lab writes its own stack files with them.
 *
 * Format (Pulumi's `passphrase` provider, state version v1): the key is PBKDF2-SHA256 of the
 * passphrase with the stack's salt, 1,000,000 rounds, 32 bytes; a value is
 * `v1:<base64 12-byte nonce>:<base64 AES-256-GCM ciphertext with its tag>`; the stack file's
 * `encryptionsalt` is `v1:<base64 salt>:<the encryption of "pulumi">`, which checks the passphrase.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";

const ROUNDS = 1_000_000;

export class PassphraseCrypter {
  private constructor(
    private readonly key: Buffer,
    readonly encryptionSalt: string,
  ) {}

  /** A new salt and crypter, for a stack file written by the lab. */
  static create(passphrase: string): PassphraseCrypter {
    const salt = randomBytes(8);
    const key = pbkdf2Sync(passphrase, salt, ROUNDS, 32, "sha256");
    const probe = new PassphraseCrypter(key, "");
    return new PassphraseCrypter(key, `v1:${salt.toString("base64")}:${probe.encrypt("pulumi")}`);
  }

  /** The crypter of an existing stack file; throws when the passphrase is wrong. */
  static fromSalt(passphrase: string, encryptionSalt: string): PassphraseCrypter {
    const [version, saltText] = encryptionSalt.split(":");
    if (version !== "v1" || !saltText) throw new Error("encryptionsalt is not a v1 passphrase state");
    const key = pbkdf2Sync(passphrase, Buffer.from(saltText, "base64"), ROUNDS, 32, "sha256");
    const crypter = new PassphraseCrypter(key, encryptionSalt);
    const check = encryptionSalt.slice(encryptionSalt.indexOf(":", 3) + 1);
    let ok = false;
    try {
      ok = crypter.decrypt(check) === "pulumi";
    } catch {
      ok = false;
    }
    if (!ok) throw new Error("incorrect passphrase for this stack file's encryptionsalt");
    return crypter;
  }

  encrypt(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${body.toString("base64")}`;
  }

  decrypt(ciphertext: string): string {
    const [version, nonceText, bodyText] = ciphertext.split(":");
    if (version !== "v1" || !nonceText || !bodyText) throw new Error("not a v1 passphrase ciphertext");
    const body = Buffer.from(bodyText, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(nonceText, "base64"));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
      "utf8",
    );
  }
}

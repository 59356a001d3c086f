/**
 * Secrets of the alert channels at rest (issue 15): a json webhook's signing secret, a PagerDuty routing
 * key, an SMTP password are stored in the webhook row sealed with AES-256-GCM (node:crypto; no library
 * needed for one cipher call and its tag), under a 32-byte key read from a key file: KAM_SECRETS_KEY_FILE,
 * by default `secrets.key` in the data directory (KAM_DATA_DIR), created there (mode 0600) when missing.
 * A key file named by KAM_SECRETS_KEY_FILE is never created: a missing one is an error naming the setting,
 * because replicas (and the admin CLI) must all read the same key.
 *
 * Sealed form: `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url), the key id being the first 8 hex digits
 * of SHA-256 of the key, so that a value sealed under another key is reported as such, with the setting to
 * fix, rather than as a corrupt value. The AAD binds the value to its purpose (a routing key cannot be
 * moved into a signing secret's place).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const KEY_SETTING = "KAM_SECRETS_KEY_FILE";
const KEY_BYTES = 32;

/** what a sealed value is for: part of the AAD (oidc-flow: the OIDC sign-in cookie, server/auth/oidc.ts) */
export type SecretPurpose = "webhook-secret" | "oidc-flow";

/** a key file that cannot be read or used, or a value that this key cannot open: the message names the setting */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretKeyError";
  }
}

export class SecretBox {
  readonly keyId: string;

  constructor(
    private readonly key: Buffer,
    /** where the key came from, for error messages (a path, never the key) */
    readonly source: string,
  ) {
    if (key.length !== KEY_BYTES) throw new SecretKeyError(`the key in ${source} (${KEY_SETTING}) must be ${KEY_BYTES} bytes (base64), not ${key.length}`);
    this.keyId = crypto.createHash("sha256").update(key).digest("hex").slice(0, 8);
  }

  seal(plain: string, purpose: SecretPurpose): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv("aes-256-gcm", this.key, iv);
    c.setAAD(Buffer.from(`kam:${purpose}`));
    const ct = Buffer.concat([c.update(plain, "utf8"), c.final()]);
    return ["v1", this.keyId, iv.toString("base64url"), c.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
  }

  open(sealed: string, purpose: SecretPurpose): string {
    const parts = sealed.split(".");
    if (parts.length !== 5 || parts[0] !== "v1") throw new SecretKeyError("a stored secret is not in the sealed form (v1.…); was it written by hand?");
    const [, keyId, iv, tag, ct] = parts;
    if (keyId !== this.keyId) {
      throw new SecretKeyError(`a stored secret was sealed with another key (id ${keyId}) than the one in ${this.source} (${KEY_SETTING}, id ${this.keyId}): set ${KEY_SETTING} to the key file it was sealed with`);
    }
    try {
      const d = crypto.createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
      d.setAAD(Buffer.from(`kam:${purpose}`));
      d.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]).toString("utf8");
    } catch {
      // the only cause with a matching key id: the stored value was altered
      throw new SecretKeyError(`a stored secret cannot be decrypted with the key in ${this.source} (${KEY_SETTING}): it was altered`);
    }
  }
}

/**
 * The key file of this configuration: KAM_SECRETS_KEY_FILE if set (must exist), else <dataDir>/secrets.key,
 * created with mode 0600 (and a fresh random key) when missing.
 */
export function loadSecretBox(opts: { keyFile: string; dataDir: string }): SecretBox {
  const explicit = opts.keyFile !== "";
  const file = explicit ? path.resolve(opts.keyFile) : path.join(opts.dataDir, "secrets.key");
  if (!explicit && !fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      // wx: two processes starting at once do not overwrite each other's key
      fs.writeFileSync(file, crypto.randomBytes(KEY_BYTES).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new SecretKeyError(`cannot create the secrets key file ${file} (${KEY_SETTING}): ${(e as Error).message}`);
    }
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new SecretKeyError(`cannot read the secrets key file ${file} (${KEY_SETTING}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const b64 = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new SecretKeyError(`the secrets key file ${file} (${KEY_SETTING}) must hold ${KEY_BYTES} bytes in base64 (e.g. openssl rand -base64 32)`);
  return new SecretBox(Buffer.from(b64, "base64"), file);
}

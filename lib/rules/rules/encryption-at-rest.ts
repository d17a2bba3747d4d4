import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import { configFilesOf, knownDatastores, type DatastoresView } from "../datastore-views";
import { optionSettings, SERVER_GROUPS } from "./datastore-parse";

export interface EncryptionAtRestConfig {
  /** Key management plugins that give InnoDB its keys. */
  readonly keyManagementPlugins: readonly string[];
}

const meta = {
  name: "encryption-at-rest",
  description:
    "Checks that a data-holding MariaDB release encrypts data at rest: a key management plugin loaded (file_key_management with a key made on the node) and innodb_encrypt_tables and innodb_encrypt_log on in the server's option groups. PostgreSQL 15 has no transparent data encryption, so it is exempt here (docs/storage.md says what protects it instead).",
  severity: "high",
  remediation:
    "In the release's option file ([mariadbd] group) set plugin_load_add = file_key_management, file_key_management_filename = <key file made on the node, mode 0600>, innodb_encrypt_tables = ON, innodb_encrypt_log = ON (and innodb_encrypt_temporary_tables, encrypt_tmp_files, aria_encrypt_tables).",
  invariant: "3. Zero password (keys made where they are used); data at rest",
  defaults: {
    keyManagementPlugins: ["file_key_management", "hashicorp_key_management", "aws_key_management"],
  },
  configSchema: { keyManagementPlugins: { type: "array", items: { type: "string" } } },
} as const;

const ON = /^(on|1|true|yes|force)$/i;

export const encryptionAtRest: Rule<DatastoresView, EncryptionAtRestConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view, config) {
    const out: Finding[] = [];
    for (const d of knownDatastores(view, "mariadb")) {
      // A desired state carries no configuration (the release's view judges it); unknown data: no judgement.
      if (d.holdsData !== true || d.configFiles === undefined || d.configFiles === UNKNOWN) continue;
      const settings = configFilesOf(d, /\.(cnf|ini|conf)$/i).flatMap((f) =>
        optionSettings(f.text).filter((s) => SERVER_GROUPS.test(s.group)),
      );
      // Later settings win, as when the server reads its option files.
      const last = (name: string) => settings.filter((s) => s.name === name).pop()?.value;
      const plugins = settings
        .filter((s) => s.name === "plugin_load_add" || s.name === "plugin_load")
        .flatMap((s) =>
          s.value.split(/[;,]/).map((p) => p.split("=")[0].replace(/\.so$/, "").trim().toLowerCase()),
        );
      const loaded = config.keyManagementPlugins.filter((p) => plugins.includes(p) && last(p) !== "0");
      const missing: string[] = [];
      if (loaded.length === 0)
        missing.push(`a key management plugin (plugin_load_add = ${config.keyManagementPlugins[0]})`);
      for (const name of ["innodb_encrypt_tables", "innodb_encrypt_log"]) {
        const v = last(name);
        if (v === undefined || !(v === "" || ON.test(v)))
          missing.push(`${name} = ON (found ${show(v ?? "nothing")})`);
      }
      if (missing.length)
        out.push(
          finding(
            meta,
            `MariaDB ${show(d.name)} holds data but its option files do not encrypt it at rest: missing ${missing.join(", ")}`,
            view.ref,
            d.path,
          ),
        );
    }
    return out;
  },
};

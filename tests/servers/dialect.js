// The DIALECT setting of the Node test servers (service_calls.js, station_reports.js, crowd_monitoring.js); see
// README.md. dialect.py is the same for the Python servers.
//
// DIALECT is a comma-separated list of `key=value` pairs naming choices that real deployments make where the
// seeds are silent (auth on the socket and read-only routes, text field names, key spelling, id field, id type,
// REST prefix, list shape, list order). A key left out keeps the server's behaviour of today. A malformed
// setting stops the server at start with a message on stderr (exit code 2).

"use strict";

const CHOICES = {
  auth: ["on", "off"],
  text: ["default", "alt"],
  case: ["camel", "snake"],
  id: ["id", "_id", "uuid"],
  idtype: ["int", "str"],
  list: ["array", "items", "data", "named"],
  order: ["oldest", "newest"],
};
const KEYS = [...Object.keys(CHOICES), "base"];
const BASE_PATTERN = /^(\/[A-Za-z0-9._~-]+)*$/; // "" or /a/b, no trailing slash
const TODAY = null; // `case` and `list` when left out: the server's own spelling and shape of today

// {key: value} of a DIALECT string; throws an Error with a readable message when it is malformed.
function parse(text) {
  const values = {};
  if (!text.trim()) return values;
  for (const item of text.split(",")) {
    const equals = item.indexOf("=");
    const key = equals < 0 ? "" : item.slice(0, equals).trim();
    const value = equals < 0 ? "" : item.slice(equals + 1).trim();
    if (!key) throw new Error(`entry ${JSON.stringify(item.trim())} is not key=value`);
    if (!KEYS.includes(key)) throw new Error(`unknown key ${JSON.stringify(key)} (known: ${KEYS.join(", ")})`);
    if (key in values) throw new Error(`key ${JSON.stringify(key)} given twice`);
    if (key === "base") {
      if (!BASE_PATTERN.test(value) || value.startsWith("/__test") || value.startsWith("/socket.io")) {
        throw new Error(
          `base ${JSON.stringify(value)} must be empty or /segment[/segment...] without a trailing slash ` +
            "(and not /__test or /socket.io)",
        );
      }
    } else if (!CHOICES[key].includes(value)) {
      throw new Error(`${key}=${JSON.stringify(value)} is not one of ${CHOICES[key].join(", ")}`);
    }
    values[key] = value;
  }
  return values;
}

const toSnake = (name) => name.replace(/(?<=[a-z0-9])([A-Z])/g, (_, c) => `_${c.toLowerCase()}`);
const toCamel = (name) => name.replace(/(?<=[a-z0-9])_([a-z0-9])/g, (_, c) => c.toUpperCase());

// One server's dialect: `defaults` holds the server's values of today for idtype, base, list and order;
// `renames` maps each human text field to its `text=alt` name.
class Dialect {
  constructor(values, defaults, renames) {
    this.auth = values.auth ?? "on";
    this.renames = values.text === "alt" ? renames : {};
    this.aliases = renames; // request bodies accept both names in every dialect
    this.case = values.case ?? TODAY;
    this.idName = values.id ?? "id";
    this.idType = values.idtype ?? defaults.idtype;
    this.base = values.base ?? defaults.base;
    this.list = values.list ?? defaults.list ?? TODAY;
    this.order = values.order ?? defaults.order;
  }

  // auth=off: sockets and read-only REST routes need no token.
  get openReads() {
    return this.auth === "off";
  }

  // --- answers ---------------------------------------------------------------------------------------------

  // A field name as the dialect writes it (text renaming, then case).
  spell(name) {
    const renamed = this.renames[name] ?? name;
    if (this.case === "snake") return toSnake(renamed);
    if (this.case === "camel") return toCamel(renamed);
    return renamed;
  }

  // An id as the dialect writes it: the number, or `<prefix>-<number>`.
  publicId(value, prefix) {
    const number = Number.isInteger(value) ? value : Number(String(value).split("-").pop());
    return this.idType === "int" ? number : `${prefix}-${number}`;
  }

  // `record` (the server's own shape) as the dialect writes it. `prefix` is the id prefix of its kind (null: an
  // id that the dialect does not renumber, such as a user id); `refs` maps fields holding ids of other records to
  // their prefix.
  record(record, prefix = null, refs = {}) {
    const out = {};
    for (const [name, value] of Object.entries(record)) {
      if (name === "id") out[this.idName] = prefix ? this.publicId(value, prefix) : value;
      else if (name in refs && value != null) out[this.spell(name)] = this.publicId(value, refs[name]);
      else out[this.spell(name)] = value;
    }
    return out;
  }

  // A list answer. `records` come oldest first; `today` shapes the list as the server does today.
  listing(records, plural, today) {
    const ordered = this.order === "newest" ? [...records].reverse() : [...records];
    if (this.list === TODAY) return today(ordered);
    if (this.list === "array") return ordered;
    return { [this.list === "named" ? plural : this.list]: ordered, total: ordered.length };
  }

  // --- requests --------------------------------------------------------------------------------------------

  // Every spelling a request may use for field `name`: both cases, and the text=alt name.
  namesFor(name) {
    const names = new Set();
    for (const base of [name, this.aliases[name]]) {
      if (base) for (const spelled of [base, toCamel(base), toSnake(base)]) names.add(spelled);
    }
    return [...names];
  }

  // {name: value} of the fields of `body` (any accepted spelling) that are present.
  pick(body, names) {
    const found = {};
    if (!body || typeof body !== "object") return found;
    for (const name of names) {
      const spelled = this.namesFor(name).find((n) => body[n] !== undefined);
      if (spelled !== undefined) found[name] = body[spelled];
    }
    return found;
  }

  // The number of an id given in a route or a query (`7` or `<prefix>-7`), or null.
  number(value, prefix) {
    const match = new RegExp(`^(?:${prefix}-)?(\\d+)$`).exec(String(value));
    return match ? Number(match[1]) : null;
  }
}

// The dialect of env DIALECT; exits with status 2 and a message on stderr when it is malformed.
function load(defaults, renames) {
  const text = process.env.DIALECT || "";
  try {
    return new Dialect(parse(text), defaults, renames);
  } catch (problem) {
    process.stderr.write(`DIALECT=${JSON.stringify(text)}: ${problem.message}\n`);
    process.exit(2);
  }
}

module.exports = { load, parse, toCamel, toSnake };

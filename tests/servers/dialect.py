"""The DIALECT setting of the Python test servers (emergency_dispatch.py, ticketing.py); see README.md.

DIALECT is a comma-separated list of `key=value` pairs naming choices that real deployments make where the seeds
are silent (auth on the socket and read-only routes, text field names, key spelling, id field, id type, REST
prefix, list shape, list order). A key left out keeps the server's behaviour of today. A malformed setting
stops the server at start with a message on stderr (exit code 2). dialect.js is the same for the Node servers.
"""

import os
import re
import sys

CHOICES = {
    "auth": ("on", "off"),
    "text": ("default", "alt"),
    "case": ("camel", "snake"),
    "id": ("id", "_id", "uuid"),
    "idtype": ("int", "str"),
    "list": ("array", "items", "data", "named"),
    "order": ("oldest", "newest"),
}
KEYS = (*CHOICES, "base")
BASE_PATTERN = re.compile(r"(/[A-Za-z0-9._~-]+)*")  # "" or /a/b, no trailing slash
TODAY = None  # `case` and `list` when left out: the server's own spelling and shape of today

_MISSING = object()


def parse(text):
    """{key: value} of a DIALECT string; raises ValueError with a readable message when it is malformed."""
    values = {}
    if not text.strip():
        return values
    for item in text.split(","):
        key, equals, value = item.strip().partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key:
            raise ValueError(f"entry {item.strip()!r} is not key=value")
        if key not in KEYS:
            raise ValueError(f"unknown key {key!r} (known: {', '.join(KEYS)})")
        if key in values:
            raise ValueError(f"key {key!r} given twice")
        if key == "base":
            if not BASE_PATTERN.fullmatch(value) or value.startswith(("/__test", "/socket.io")):
                raise ValueError(f"base {value!r} must be empty or /segment[/segment...] without a trailing slash "
                                 "(and not /__test or /socket.io)")
        elif value not in CHOICES[key]:
            raise ValueError(f"{key}={value!r} is not one of {', '.join(CHOICES[key])}")
        values[key] = value
    return values


def to_snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def to_camel(name):
    return re.sub(r"(?<=[a-z0-9])_([a-z0-9])", lambda m: m.group(1).upper(), name)


class Dialect:
    """One server's dialect: `defaults` holds the server's values of today for idtype, base, list and order;
    `renames` maps each human text field to its `text=alt` name."""

    def __init__(self, values, defaults, renames):
        self.auth = values.get("auth", "on")
        self.renames = renames if values.get("text") == "alt" else {}
        self.case = values.get("case", TODAY)
        self.id_name = values.get("id", "id")
        self.id_type = values.get("idtype", defaults["idtype"])
        self.base = values.get("base", defaults["base"])
        self.list = values.get("list", defaults.get("list", TODAY))
        self.order = values.get("order", defaults["order"])
        self.aliases = dict(renames)  # request bodies accept both names in every dialect

    @property
    def open_reads(self):
        """auth=off: sockets and read-only REST routes need no token."""
        return self.auth == "off"

    # --- answers -------------------------------------------------------------------------------------------

    def spell(self, name):
        """A field name as the dialect writes it (text renaming, then case)."""
        name = self.renames.get(name, name)
        if self.case == "snake":
            return to_snake(name)
        if self.case == "camel":
            return to_camel(name)
        return name

    def public_id(self, value, prefix):
        """An id as the dialect writes it: the number, or `<prefix>-<number>`."""
        number = value if isinstance(value, int) else int(str(value).rsplit("-", 1)[1])
        return number if self.id_type == "int" else f"{prefix}-{number}"

    def record(self, record, prefix=None, refs=None):
        """`record` (the server's own shape) as the dialect writes it. `prefix` is the id prefix of its kind
        (None: an id that the dialect does not renumber, such as a user id); `refs` maps fields holding ids of
        other records to their prefix."""
        out = {}
        for name, value in record.items():
            if name == "id":
                out[self.id_name] = self.public_id(value, prefix) if prefix else value
            elif refs and name in refs and value is not None:
                out[self.spell(name)] = self.public_id(value, refs[name])
            else:
                out[self.spell(name)] = value
        return out

    def listing(self, records, plural, today):
        """A list answer. `records` come oldest first; `today` shapes the list as the server does today."""
        records = list(reversed(records)) if self.order == "newest" else list(records)
        if self.list is TODAY:
            return today(records)
        if self.list == "array":
            return records
        return {plural if self.list == "named" else self.list: records, "total": len(records)}

    # --- requests ------------------------------------------------------------------------------------------

    def names_for(self, name):
        """Every spelling a request may use for field `name`: both cases, and the text=alt name."""
        names = []
        for base in (name, self.aliases.get(name)):
            if base:
                for spelled in (base, to_camel(base), to_snake(base)):
                    if spelled not in names:
                        names.append(spelled)
        return names

    def pick(self, body, names):
        """{name: value} of the fields of `body` (any accepted spelling) that are present."""
        found = {}
        for name in names:
            for spelled in self.names_for(name):
                if isinstance(body, dict) and body.get(spelled, _MISSING) is not _MISSING:
                    found[name] = body[spelled]
                    break
        return found

    def number(self, value, prefix):
        """The number of an id given in a route or a query (`7` or `<prefix>-7`), or None."""
        text = str(value)
        match = re.fullmatch(rf"(?:{re.escape(prefix)}-)?(\d+)", text)
        return int(match.group(1)) if match else None


def load(defaults, renames):
    """The dialect of env DIALECT; exits with status 2 and a message on stderr when it is malformed."""
    text = os.environ.get("DIALECT", "")
    try:
        values = parse(text)
    except ValueError as problem:
        print(f"DIALECT={text!r}: {problem}", file=sys.stderr, flush=True)
        sys.exit(2)
    return Dialect(values, defaults, renames)

"""The Kafka message schemas as a model for broker/protocol/gen/generate.py: version ranges,
fields, nested structs, and the naming rules of the generated C++ (see generate.py's docstring).
Validates what the generator relies on and raises SchemaError for anything it cannot handle.
"""

import json
import os
import re
import sys

MAX_VERSION = 32767

# Fixed-size schema types and their size on the wire.
WIRE_SIZES = {
    "int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint16": 2, "uint32": 4, "float64": 8,
    "bool": 1, "uuid": 16,
}

INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "uint16": (0, (1 << 16) - 1),
    "uint32": (0, (1 << 32) - 1),
}
CPP_KEYWORDS = set("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq
nullptr operator or or_eq private protected public register reinterpret_cast requires return
short signed sizeof static static_assert static_cast struct switch template this thread_local
throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while
xor xor_eq
""".split())
# Identifiers the generated functions use besides the members.
GENERATED_NAMES = {"version", "r", "w", "t", "flexible", "self", "v", "status", "tag"}
# Type names a nested struct must not shadow inside its message.
RESERVED_TYPES = {"Records", "Uuid", "Reader", "Writer", "FileRegion", "OutputBuffer",
                  "FieldInfo"}


class SchemaError(Exception):
    pass


def snake_case(name):
    """TopicData -> topic_data, ISRNodes -> isr_nodes (the rule is in generate.py's docstring)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def member_name(name):
    s = snake_case(name)
    if s in CPP_KEYWORDS or s in GENERATED_NAMES:
        s += "_"
    return s


def strip_comments(text):
    """Removes // comments that are outside JSON strings."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class Versions:
    """An inclusive version range; lo > hi means empty."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(spec, what):
        spec = spec.strip()
        if spec in ("none", ""):
            return Versions(0, -1)
        m = re.fullmatch(r"(\d+)\+", spec)
        if m:
            return Versions(int(m.group(1)), MAX_VERSION)
        m = re.fullmatch(r"(\d+)-(\d+)", spec)
        if m:
            return Versions(int(m.group(1)), int(m.group(2)))
        m = re.fullmatch(r"\d+", spec)
        if m:
            return Versions(int(spec), int(spec))
        raise SchemaError(f"{what}: bad version range '{spec}'")

    def empty(self):
        return self.lo > self.hi

    def intersect(self, other):
        return Versions(max(self.lo, other.lo), min(self.hi, other.hi))

    def contains(self, v):
        return self.lo <= v <= self.hi

    def __str__(self):
        if self.empty():
            return "none"
        if self.hi == MAX_VERSION:
            return f"{self.lo}+"
        return f"{self.lo}" if self.lo == self.hi else f"{self.lo}-{self.hi}"


class Field:
    def __init__(self, spec, owner, message):
        where = f"{message}.{owner}.{spec.get('name')}"
        self.name = spec["name"]
        self.cpp = member_name(self.name)  # the C++ member
        self.type = spec["type"]
        self.about = spec.get("about", "")
        self.versions = Versions.parse(spec["versions"], where)
        self.nullable = Versions.parse(spec.get("nullableVersions", "none"), where)
        self.tagged = Versions.parse(spec.get("taggedVersions", "none"), where)
        self.tag = spec.get("tag")
        self.default = spec.get("default")
        self.flexible_override = (Versions.parse(spec["flexibleVersions"], where)
                                  if "flexibleVersions" in spec else None)
        self.inline_fields = spec.get("fields")
        self.where = where
        if (self.tag is None) != self.tagged.empty():
            raise SchemaError(f"{where}: 'tag' and 'taggedVersions' go together")
        if not self.tagged.empty() and (self.tagged.lo != self.versions.lo
                                        or self.tagged.hi != self.versions.hi):
            raise SchemaError(f"{where}: a field tagged in only some of its versions is not "
                              "supported")
        t = self.type
        self.is_array = t.startswith("[]")
        self.elem = t[2:] if self.is_array else t
        if self.elem in WIRE_SIZES:
            self.kind = "primitive"
        elif self.elem in ("string", "bytes", "records"):
            self.kind = self.elem
        elif re.fullmatch(r"[A-Z][A-Za-z0-9]*", self.elem):
            self.kind = "struct"
        else:
            raise SchemaError(f"{where}: unknown type '{t}'")
        if self.is_array and self.kind in ("bytes", "records"):
            raise SchemaError(f"{where}: arrays of {self.kind} are not supported")
        if not self.nullable.empty() and not self.is_array and self.kind not in (
                "string", "bytes", "records"):
            raise SchemaError(f"{where}: nullable {t} is not supported")
        if self.kind == "records" and self.tag is not None:
            raise SchemaError(f"{where}: tagged records are not supported")

    def optional(self):
        return not self.nullable.empty() and (self.is_array or self.kind in ("string", "bytes"))

    def default_is_null(self):
        if self.default == "null":
            if not self.optional():
                raise SchemaError(f"{self.where}: default null on a field that is never nullable")
            return True
        return False

    def int_default(self):
        if self.default in (None, ""):
            return 0
        try:
            value = int(str(self.default), 0)
        except ValueError:
            raise SchemaError(f"{self.where}: bad default '{self.default}'")
        lo, hi = INT_RANGES[self.elem]
        if not lo <= value <= hi:
            raise SchemaError(f"{self.where}: default {value} out of range")
        return value

    def string_default(self):
        if self.default in (None, "null"):
            return ""
        if self.kind == "bytes" and self.default != "":
            raise SchemaError(f"{self.where}: bytes defaults are not supported")
        return str(self.default)


class Struct:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields


class Message:
    field_class = Field  # generate.py subclasses both to add the C++ rendering

    def __init__(self, schema, filename):
        self.filename = filename
        self.name = schema["name"]
        self.type = schema["type"]
        self.api_key = schema.get("apiKey")
        self.valid = Versions.parse(schema["validVersions"], self.name)
        self.flexible = Versions.parse(schema.get("flexibleVersions", "none"), self.name)
        if self.type in ("request", "response") and self.api_key is None:
            raise SchemaError(f"{self.name}: no apiKey")
        self.structs = {}  # name -> Struct
        self.common = {c["name"]: c for c in schema.get("commonStructs", [])}
        self.fields = self._fields(schema["fields"], self.name)
        self.order = []  # nested structs, each before its first use
        self._order(self.fields, set())
        for struct in self.order:
            if struct.name in RESERVED_TYPES or struct.name == self.name:
                raise SchemaError(f"{self.name}: nested struct name {struct.name} is reserved")
        self._check_nonempty_elements(self.fields, self.valid)

    def _fields(self, specs, owner):
        fields = [self.field_class(spec, owner, self.name) for spec in specs]
        cpp_names = [f.cpp for f in fields]
        if len(set(cpp_names)) != len(cpp_names):
            raise SchemaError(f"{self.name}.{owner}: two fields map to one member name")
        tags = [f.tag for f in fields if f.tag is not None]
        if len(set(tags)) != len(tags):
            raise SchemaError(f"{self.name}.{owner}: duplicate tags")
        for f in fields:
            if f.kind != "struct":
                continue
            if f.inline_fields is not None:
                if f.elem in self.structs or f.elem in self.common:
                    raise SchemaError(f"{self.name}: struct {f.elem} is defined twice")
                self.structs[f.elem] = None  # reserve the name against recursion
                self.structs[f.elem] = Struct(f.elem, self._fields(f.inline_fields, f.elem))
            elif f.elem not in self.structs:
                if f.elem not in self.common:
                    raise SchemaError(f"{f.where}: struct {f.elem} has no fields and is not a "
                                      "common struct")
                self.structs[f.elem] = None
                self.structs[f.elem] = Struct(
                    f.elem, self._fields(self.common[f.elem]["fields"], f.elem))
        return fields

    def _order(self, fields, seen):
        for f in fields:
            if f.kind == "struct" and f.elem not in seen:
                seen.add(f.elem)
                struct = self.structs[f.elem]
                self._order(struct.fields, seen)
                self.order.append(struct)

    def is_flexible(self, v):
        return self.flexible.contains(v)

    def min_size(self, fields, v):
        """Fewest bytes a struct with `fields` encodes to at version v."""
        if self.is_flexible(v):
            return 1  # the tagged-field count
        size = 0
        for f in fields:
            if not f.versions.contains(v):
                continue
            if f.is_array or f.kind in ("bytes", "records"):
                size += 4
            elif f.kind == "string":
                size += 2
            elif f.kind == "primitive":
                size += WIRE_SIZES[f.elem]
            else:
                size += self.min_size(self.structs[f.elem].fields, v)
        return size

    def _check_nonempty_elements(self, fields, versions):
        # Array counts are bounded by the bytes left assuming every element takes a byte or more.
        for f in fields:
            if f.kind != "struct":
                continue
            present = f.versions.intersect(versions)
            struct = self.structs[f.elem]
            if f.is_array:
                for v in range(present.lo, present.hi + 1):
                    if self.min_size(struct.fields, v) == 0:
                        raise SchemaError(f"{f.where}: elements can be empty at v{v}")
            self._check_nonempty_elements(struct.fields, present)


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return json.loads(strip_comments(text))
    except json.JSONDecodeError as e:
        raise SchemaError(f"{path}: {e}")


def api_base_name(request_name):
    return request_name[:-len("Request")]


def load(schema_dir, message_class=Message):
    """Every protocol message in `schema_dir`, and its APIs as (request, response) pairs by API
    key. Schemas that are not requests, responses or headers are skipped."""
    names = sorted(n for n in os.listdir(schema_dir) if n.endswith(".json"))
    if not names:
        raise SchemaError(f"no schemas in {schema_dir}")
    messages = []
    for name in names:
        schema = load_schema(os.path.join(schema_dir, name))
        if schema.get("type") not in ("request", "response", "header"):
            print(f"generate.py: skipping {name} (type {schema.get('type')!r}, not a protocol "
                  "message)", file=sys.stderr)
            continue
        messages.append(message_class(schema, name))
    by_name = {m.name: m for m in messages}
    if len(by_name) != len(messages):
        raise SchemaError("two schemas have the same name")
    apis = []
    for m in messages:
        if m.type != "request":
            continue
        resp = by_name.get(api_base_name(m.name) + "Response")
        if resp is None or resp.api_key != m.api_key:
            raise SchemaError(f"{m.name}: no matching response schema")
        if (resp.valid.lo, resp.valid.hi) != (m.valid.lo, m.valid.hi) or str(
                resp.flexible.intersect(resp.valid)) != str(m.flexible.intersect(m.valid)):
            raise SchemaError(f"{m.name}: the response's versions differ from the request's")
        apis.append((m, resp))
    for m in messages:
        if m.type == "response" and not any(resp is m for _, resp in apis):
            raise SchemaError(f"{m.name}: no matching request schema")
    apis.sort(key=lambda pair: pair[0].api_key)
    if len({req.api_key for req, _ in apis}) != len(apis):
        raise SchemaError("two APIs share an API key")

    return messages, apis

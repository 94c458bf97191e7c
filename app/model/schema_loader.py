"""A fast path for ``Schema.load`` of flat, hook-free marshmallow schemas (the event schema).

marshmallow spends most of its time on bookkeeping (error stores, partial
handling, per-field dispatch through several layers); for a valid event that
is 50-60 µs, most of an ingest request's own CPU. ``FastLoader`` turns the
schema's declarations into one plain Python function per schema that takes
the same steps ``Schema.load`` takes on valid input, in the same order:
unknown keys refused, required fields present, no nulls, each field's own
``_deserialize`` (inlined for ``String``, and for a field class that declares
``str_passthrough_max``: an exact ``str`` is kept as is; ``IP`` parses through a
cache), its
validators, nested schemas, dict keys and values, ``load_default`` values.

It only ever *accepts*: on anything it is not sure about (an invalid value, a
missing required field, an unknown key, a value of an unusual type) it
returns None, and the caller runs the real ``Schema.load``, so error messages
and every edge case stay marshmallow's own. A schema using features the fast
path does not model (hooks, ``data_key``, ``attribute``, ``unknown`` other
than RAISE, ``many``, ...) gets no fast path at all (``for_schema`` is None).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, fields
from marshmallow.utils import missing

# fields.IP parses with ipaddress.ip_address; its answers are immutable, and clients
# send the same few addresses over and over.
_ip_address = functools.lru_cache(maxsize=16_384)(ipaddress.ip_address)


class _Doubt(Exception):
    """The fast path cannot vouch for this input; let the schema decide."""


class _Unsupported(Exception):
    """The schema uses a feature the fast path does not model."""


class _Compiler:
    """Writes the source of the load functions; constants live in ``env``."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {"_Doubt": _Doubt, "_missing": missing}
        self.functions: list[str] = []
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, value: Any) -> str:
        name = self.name("_c")
        self.env[name] = value
        return name

    def schema(self, schema: Schema) -> str:
        """Emit the function loading ``schema``; return its name."""
        if (schema.unknown != RAISE or schema.many or schema.partial or schema.only
                or schema.exclude or any(schema._hooks.values())
                or set(schema.load_fields) != set(schema.declared_fields)):
            raise _Unsupported
        function = self.name("_load")
        names = self.const(frozenset(schema.load_fields))
        lines = [f"def {function}(data):",
                 f"    if not {names}.issuperset(data):",
                 "        raise _Doubt",  # unknown keys: the schema's error
                 "    result = {}"]
        for field_name, field in schema.load_fields.items():
            value = self.name("v")
            lines.append(f"    {value} = data.get({field_name!r}, _missing)")
            lines.append(f"    if {value} is not _missing:")
            out = self.field(field, field_name, value, lines, "        ")
            lines.append(f"        result[{field_name!r}] = {out}")
            if field.required:
                lines += ["    else:", "        raise _Doubt"]
            elif field.load_default is not missing:
                default = self.const(field.load_default)
                call = "()" if callable(field.load_default) else ""
                lines += ["    else:", f"        result[{field_name!r}] = {default}{call}"]
        lines.append("    return result")
        self.functions.append("\n".join(lines))
        return function

    def field(self, field: fields.Field, name: str, value: str, lines: list[str],
              indent: str) -> str:
        """Emit the loading of ``value`` by ``field``; return the variable holding the result."""
        if field.data_key is not None or field.attribute is not None or field.allow_none:
            raise _Unsupported
        out = self.name("r")
        kind = type(field)
        if kind is fields.String:
            # String._deserialize keeps an exact str as it is; anything else: the schema.
            lines += [f"{indent}if {value}.__class__ is not str:", f"{indent}    raise _Doubt",
                      f"{indent}{out} = {value}"]
        elif kind is fields.Nested:
            if field.many or field.only or field.exclude or field.unknown not in (None, RAISE):
                raise _Unsupported
            function = self.schema(field.schema)
            lines += [f"{indent}if {value}.__class__ is not dict:", f"{indent}    raise _Doubt",
                      f"{indent}{out} = {function}({value})"]
        elif kind in (fields.Dict, fields.Mapping):
            self.mapping(field, name, value, out, lines, indent)  # type: ignore[arg-type]
        elif kind is fields.IP:
            parse = self.const(_ip_address)
            lines += [f"{indent}if {value}.__class__ is not str:", f"{indent}    raise _Doubt",
                      f"{indent}{out} = {parse}({value})"]
        elif isinstance(getattr(field, "str_passthrough_max", None), int):
            # The field class declares that an exact str up to this length loads as itself;
            # anything else goes through its own _deserialize.
            limit = field.str_passthrough_max  # type: ignore[attr-defined]
            deserialize = self.const(field._deserialize)
            lines += [f"{indent}if {value}.__class__ is str and len({value}) <= {limit}:",
                      f"{indent}    {out} = {value}",
                      f"{indent}elif {value} is None:", f"{indent}    raise _Doubt",
                      f"{indent}else:",
                      f"{indent}    {out} = {deserialize}({value}, {name!r}, data)"]
        else:
            # Any other field: its own _deserialize, after Field.deserialize's null check.
            deserialize = self.const(field._deserialize)
            lines += [f"{indent}if {value} is None:", f"{indent}    raise _Doubt",
                      f"{indent}{out} = {deserialize}({value}, {name!r}, data)"]
        for validator in field.validators:
            check = self.const(validator)
            lines += [f"{indent}if {check}({out}) is False:", f"{indent}    raise _Doubt"]
        return out

    def mapping(self, field: fields.Mapping, name: str, value: str, out: str,
                lines: list[str], indent: str) -> None:
        mapping_type = self.const(field.mapping_type)
        lines += [f"{indent}if {value}.__class__ is not dict:", f"{indent}    raise _Doubt"]
        if field.key_field is None and field.value_field is None:
            lines.append(f"{indent}{out} = {mapping_type}({value})")
            return
        key, item = self.name("k"), self.name("x")
        lines += [f"{indent}{out} = {mapping_type}()",
                  f"{indent}for {key}, {item} in {value}.items():"]
        inner = indent + "    "
        loaded_key = (self.field(field.key_field, name, key, lines, inner)
                      if field.key_field is not None else key)
        loaded_item = (self.field(field.value_field, name, item, lines, inner)
                       if field.value_field is not None else item)
        lines.append(f"{inner}{out}[{loaded_key}] = {loaded_item}")


class FastLoader:
    """``schema.load(data)`` for valid input, None where the schema must decide."""

    def __init__(self, load: Callable[[Mapping[str, Any]], dict[str, Any]], source: str) -> None:
        self.load_or_doubt = load
        self.source = source  # the generated code, for reading and debugging

    @classmethod
    def for_schema(cls, schema: Schema) -> FastLoader | None:
        """A loader equivalent to ``schema.load`` on valid input, or None if the schema uses
        features it does not model."""
        compiler = _Compiler()
        try:
            function = compiler.schema(schema)
        except _Unsupported:
            return None
        source = "\n\n".join(compiler.functions)
        namespace = dict(compiler.env)
        exec(compile(source, f"<fast load of {type(schema).__name__}>", "exec"), namespace)
        return cls(namespace[function], source)

    def load(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """What ``schema.load(data)`` returns, or None when the fast path has any doubt."""
        try:
            return self.load_or_doubt(data)
        except Exception:  # any doubt at all: the schema decides, with its own messages
            return None

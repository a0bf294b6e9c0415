# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sandbox's schema must be a strict subset of production's, so the client cannot come to
rely on a name, argument, default or nullability that the real API does not have."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLScalarType,
                     build_schema, print_ast)

REPO_ROOT = Path(__file__).resolve().parents[3]
SUBSET = REPO_ROOT / "tests" / "sandbox" / "remoteit_sandbox" / "schema.graphql"
PRODUCTION = REPO_ROOT / "tests" / "unit" / "data" / "production-schema.graphql"


def _load(path):
    return build_schema(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schemas():
    return _load(SUBSET), _load(PRODUCTION)


def _named_types(schema):
    return {name: named for name, named in schema.type_map.items() if not name.startswith("__")}


def _default(argument):
    """An argument's or input field's default as SDL text (None when it has none)."""
    node = argument.ast_node
    return print_ast(node.default_value) if node is not None and node.default_value is not None else None


def _signature(arguments):
    return {name: (str(argument.type), _default(argument)) for name, argument in arguments.items()}


def test_root_types_match(schemas):
    subset, production = schemas
    assert subset.query_type.name == production.query_type.name
    assert subset.mutation_type.name == production.mutation_type.name


def test_every_type_field_argument_and_enum_value_is_identical_in_production(schemas):
    subset, production = schemas
    production_types = _named_types(production)
    problems = []
    for name, subset_type in _named_types(subset).items():
        production_type = production_types.get(name)
        if production_type is None or type(production_type) is not type(subset_type):
            problems.append(f"{name}: no {type(subset_type).__name__} of that name in production")
        elif isinstance(subset_type, GraphQLEnumType):
            if set(subset_type.values) != set(production_type.values):
                problems.append(f"{name}: enum values {sorted(subset_type.values)} != {sorted(production_type.values)}")
        elif isinstance(subset_type, GraphQLInputObjectType):
            if _signature(subset_type.fields) != _signature(production_type.fields):
                problems.append(f"{name}: input fields differ from production")
        elif isinstance(subset_type, GraphQLObjectType):
            for field_name, field in subset_type.fields.items():
                expected = production_type.fields.get(field_name)
                if expected is None:
                    problems.append(f"{name}.{field_name}: not in production")
                elif str(field.type) != str(expected.type):
                    problems.append(f"{name}.{field_name}: type {field.type} != production {expected.type}")
                elif _signature(field.args) != _signature(expected.args):
                    problems.append(f"{name}.{field_name}: arguments {_signature(field.args)} != production {_signature(expected.args)}")
        else:
            assert isinstance(subset_type, GraphQLScalarType), f"{name}: unexpected kind of type"
    assert not problems, "\n".join(problems)


def test_the_operations_the_collection_uses_are_present(schemas):
    subset = schemas[0]
    assert {"login", "applicationTypes", "version"} <= set(subset.query_type.fields)
    assert set(subset.mutation_type.fields) == {"connect", "disconnect", "setTag", "addTag", "removeTag"}
    assert {"id", "email", "devices", "device", "service", "sessions", "account", "tags"} <= set(subset.type_map["User"].fields)
    assert "tags" in subset.type_map["Device"].fields

# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The options are declared in several places; these tests guard that they agree.

The shared connection and auth options live in _options.CONNECTION_OPTIONS (what the code reads, with
each one's type, default and environment variable) and again in the doc fragment plugins/doc_fragments/api.py:
its DOCUMENTATION is what ansible-doc shows for every module and plugin, and for the lookup and the inventory
plugin also what Ansible's configuration system reads, with PLUGINS (environment and [remoteit] ini entries)
and VARS (the remoteit_<option> variables). Each module's options are its action plugin's argument spec (what
a task accepts) and its doc stub in plugins/modules/ (what ansible-doc and the docsite show). The event source
device_events reads the shared options (all but connections_file) and its own from its arguments, and documents
them in its DOCUMENTATION (what Galaxy shows), each environment variable in the option's description.

An option added to, renamed in or given another type or default in one of those places only (for example
CONNECTION_OPTIONS alone, which the lookup would then ask Ansible for and fail on) fails here, and each
assertion lists every disagreement it found.
"""

from __future__ import annotations

import importlib
import re

import pytest
import yaml
from ansible import constants as C
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import action_loader, callback_loader, connection_loader, fragment_loader, inventory_loader, lookup_loader
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.community.remoteit.plugins.doc_fragments.api import ModuleDocFragment
from ansible_collections.community.remoteit.plugins.plugin_utils._action import _connection_argument_spec
from ansible_collections.community.remoteit.plugins.plugin_utils._options import CONNECTION_OPTIONS
from ansible_collections.community.remoteit.plugins.plugin_utils._records import HANDED_HOST_VAR, HANDED_LIST_VAR

COLLECTION = "community.remoteit"
MODULES = ("remoteit_connection", "remoteit_connection_info", "remoteit_device_info")
EVENT_SOURCE = "ansible_collections.%s.extensions.eda.plugins.event_source.device_events" % COLLECTION
INI_SECTION = "remoteit"


def fragment_options(section):
    return yaml.safe_load(getattr(ModuleDocFragment, section))["options"]


def differing_names(where, declared, expected):
    """Messages for the option names `declared` in `where` has more or fewer of than `expected`."""
    problems = ["%s declares %s, which CONNECTION_OPTIONS lacks" % (where, name) for name in sorted(set(declared) - set(expected))]
    problems += ["%s lacks %s" % (where, name) for name in sorted(set(expected) - set(declared))]
    return problems


def differing_values(where, name, pairs):
    """Messages for each (what, declared, expected) of option `name` in `where` whose values differ."""
    return ["%s: %s has %s %r, expected %r" % (where, name, what, declared, expected)
            for what, declared, expected in pairs if declared != expected]


def expected_entries(name, env, variables):
    """The env, ini and vars entries of a shared option in a plugin's configuration, as names."""
    return {"env": [env] if env else [], "ini": [(INI_SECTION, name)],
            "vars": ["remoteit_" + name] if variables else []}


def entry_names(definition):
    """The env, ini and vars entries of an option definition (from YAML or Ansible's configuration), as names."""
    return {"env": [entry["name"] for entry in definition.get("env") or []],
            "ini": [(entry["section"], entry["key"]) for entry in definition.get("ini") or []],
            "vars": [entry["name"] for entry in definition.get("vars") or []]}


def test_the_doc_fragment_documents_the_shared_options_as_the_code_reads_them():
    documented = fragment_options("DOCUMENTATION")
    plugins = fragment_options("PLUGINS")
    variables = fragment_options("VARS")
    problems = differing_names("doc fragment api (DOCUMENTATION)", documented, CONNECTION_OPTIONS)
    problems += differing_names("doc fragment api.plugins (PLUGINS)", plugins, CONNECTION_OPTIONS)
    problems += differing_names("doc fragment api.vars (VARS)", variables, CONNECTION_OPTIONS)
    for name, (kind, default, env) in CONNECTION_OPTIONS.items():
        doc = documented.get(name) or {}
        problems += differing_values("doc fragment api (DOCUMENTATION)", name, [
            ("type", doc.get("type", "str"), kind), ("default", doc.get("default"), default)])
        if name in plugins:
            declared = entry_names(plugins[name])
            expected = expected_entries(name, env, variables=False)
            problems += differing_values("doc fragment api.plugins (PLUGINS)", name, [
                ("env", declared["env"], expected["env"]), ("ini", declared["ini"], expected["ini"])])
        if name in variables:
            problems += differing_values("doc fragment api.vars (VARS)", name, [
                ("vars", entry_names(variables[name])["vars"], expected_entries(name, env, True)["vars"])])
    assert not problems, "\n".join(problems)


def module_documentation(module):
    """The module's DOCUMENTATION with its doc fragments merged, as ansible-doc renders it."""
    stub = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % (COLLECTION, module))
    return get_docstring(stub.__file__, fragment_loader, collection_name=COLLECTION, plugin_type="module")[0]


def normalized(option):
    """What an option of an argument spec or a documentation says about its values, in the same terms."""
    return {"type": option.get("type", "str"), "default": option.get("default"), "choices": option.get("choices"),
            "required": bool(option.get("required", False)), "elements": option.get("elements")}


@pytest.mark.parametrize("module", MODULES)
def test_each_modules_argument_spec_matches_its_documentation(module):
    action = action_loader.get("%s.%s" % (COLLECTION, module), class_only=True)
    spec = dict(_connection_argument_spec(), **action.argument_spec)
    documented = module_documentation(module)["options"]
    where = "%s (argument spec vs plugins/modules/%s.py with its doc fragments)" % (module, module)
    problems = ["%s: %s is accepted but not documented" % (where, name) for name in sorted(set(spec) - set(documented))]
    problems += ["%s: %s is documented but not accepted" % (where, name) for name in sorted(set(documented) - set(spec))]
    for name in sorted(set(spec) & set(documented)):
        accepted, shown = normalized(spec[name]), normalized(documented[name])
        problems += ["%s: %s is documented with %s %r, but the argument spec has %r"
                     % (where, name, field, shown[field], accepted[field])
                     for field in sorted(accepted) if shown[field] != accepted[field]]
    assert not problems, "\n".join(problems)


def options_read_in(plugin):
    """The option names a plugin's code asks Ansible for: get_option('x') calls, and the shared options."""
    with open(importlib.import_module(type(plugin).__module__).__file__, encoding="utf-8") as handle:
        source = handle.read()
    names = set(re.findall(r"get_option\(\s*[\"'](\w+)[\"']\s*\)", source))
    if "plugin_options(self)" in source:
        names |= set(CONNECTION_OPTIONS)
    return names


@pytest.mark.parametrize("loader, name, own, variables", [
    pytest.param(lookup_loader, "remoteit_connection", {"_terms"}, True, id="lookup"),
    pytest.param(inventory_loader, "remoteit", {"plugin"}, False, id="inventory"),
    pytest.param(callback_loader, "close_opened", set(), False, id="callback"),
])
def test_the_lookup_and_inventory_options_match_their_documentation(loader, name, own, variables):
    plugin = loader.get("%s.%s" % (COLLECTION, name))
    definitions = C.config.get_configuration_definitions(plugin.plugin_type, plugin._load_name)
    where = "%s plugin %s.%s" % (plugin.plugin_type, COLLECTION, name)
    problems = ["%s: its code reads %s, which it does not document" % (where, option)
                for option in sorted(options_read_in(plugin) - set(definitions))]
    stub = importlib.import_module(type(plugin).__module__)
    own_documented = set(yaml.safe_load(stub.DOCUMENTATION).get("options") or {})
    problems += ["%s: documents %s, which its code never reads" % (where, option)
                 for option in sorted(own_documented - options_read_in(plugin) - own)]
    for option, (kind, default, env) in CONNECTION_OPTIONS.items():
        definition = definitions.get(option)
        if definition is None:
            problems.append("%s: lacks the shared option %s" % (where, option))
            continue
        declared, expected = entry_names(definition), expected_entries(option, env, variables)
        problems += differing_values(where, option, [
            ("type", definition.get("type", "str"), kind), ("default", definition.get("default"), default),
            ("env", declared["env"], expected["env"]), ("ini", declared["ini"], expected["ini"]),
            ("vars", declared["vars"], expected["vars"])])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loader, name", [
    pytest.param(lookup_loader, "remoteit_connection", id="lookup"),
    pytest.param(connection_loader, "ssh", id="connection"),
])
def test_the_handed_over_records_are_read_from_the_variables_the_code_and_the_modules_name(loader, name):
    """The variables that carry records between jobs: _proxies names them, the RECORDS fragment declares them."""
    plugin = loader.get("%s.%s" % (COLLECTION, name), *([PlayContext(), None] if loader is connection_loader else []))
    definitions = C.config.get_configuration_definitions(plugin.plugin_type, plugin._load_name)
    problems = []
    for variable in (HANDED_LIST_VAR, HANDED_HOST_VAR):
        declared = entry_names(definitions[variable])["vars"] if variable in definitions else None
        if declared != [variable]:
            problems.append("%s plugin %s reads %s from %r" % (plugin.plugin_type, name, variable, declared))
    assert set(fragment_options("RECORDS")) == {HANDED_LIST_VAR, HANDED_HOST_VAR}
    for module in ("remoteit_connection", "remoteit_connection_info"):
        description = " ".join(module_documentation(module)["description"])
        problems += ["module %s does not document %s" % (module, variable)
                     for variable in (HANDED_LIST_VAR, HANDED_HOST_VAR) if "C(%s)" % variable not in description]
    assert not problems, "\n".join(problems)


def test_the_event_sources_documentation_matches_the_options_it_reads():
    source = importlib.import_module(EVENT_SOURCE)
    documented = yaml.safe_load(source.DOCUMENTATION)["options"]
    where = "event source device_events (its DOCUMENTATION)"
    read = {name: CONNECTION_OPTIONS[name] for name in source.SHARED_OPTIONS}
    read.update({name: (kind, default, None) for name, (kind, default) in source.SOURCE_OPTIONS.items()})
    problems = ["%s documents %s, which the source does not read" % (where, name)
                for name in sorted(set(documented) - set(read))]
    problems += ["%s lacks %s" % (where, name) for name in sorted(set(read) - set(documented))]
    for name in sorted(set(read) & set(documented)):
        kind, default, env = read[name]
        doc = documented[name]
        description = " ".join(doc["description"])
        problems += differing_values(where, name, [
            ("type", doc.get("type", "str"), kind), ("default", doc.get("default"), default),
            ("environment variable", "E(%s)" % env in description if env else "environment variable" in description,
             bool(env))])
    assert not problems, "\n".join(problems)

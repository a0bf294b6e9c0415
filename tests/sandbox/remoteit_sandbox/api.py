# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""GraphQL execution over the world, answering the way remote.it's API does.

Resolvers are bound onto the subset schema; plain fields whose names match the world's
attributes (id, name, state, port, ...) use graphql-core's default attribute resolver.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from graphql import GraphQLError, OperationDefinitionNode, build_schema, graphql_sync, parse

from .proxy import ProxyRegistry, check_host_ip
from .world import APPLICATION_TYPES, REMOTEIT_ID, Account, Settings, World, id_key

SCHEMA = build_schema((Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8"))
VERSION = "sandbox"
DEFAULT_PAGE = 100
MAX_PAGE = 1000
SORT_KEYS = ("name", "id", "state")


@dataclasses.dataclass
class Context:
    """What resolvers see: the world, the live proxies, and whose access key signed the request."""

    world: World
    settings: Settings
    registry: ProxyRegistry
    user: Account


def execute(context, query, variables=None, operation_name=None):
    """Run one GraphQL request; the response body as a dict (errors included, like HTTP 200)."""
    result = graphql_sync(SCHEMA, query, context_value=context, variable_values=variables, operation_name=operation_name)
    return result.formatted


def describe(query, operation_name=None):
    """(operation type, top-level field names) of a request, for fault matching and the log.

    (None, []) when the query does not parse or names no operation; execution then reports why.
    """
    try:
        document = parse(query)
    except GraphQLError:
        return None, []
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [node for node in operations if node.name and node.name.value == operation_name]
    if len(operations) != 1:
        return None, []
    fragments = {node.name.value: node for node in document.definitions if node.kind == "fragment_definition"}
    return operations[0].operation.value, _field_names(operations[0].selection_set, fragments)


def _field_names(selection_set, fragments):
    names = []
    for selection in selection_set.selections:
        if selection.kind == "field":
            names.append(selection.name.value)
        elif selection.kind == "inline_fragment":
            names.extend(_field_names(selection.selection_set, fragments))
        elif selection.name.value in fragments:
            names.extend(_field_names(fragments[selection.name.value].selection_set, fragments))
    return names


def _matches(args, settings, *, item_id, name, state, hardware_id, applications):
    """The filters that `User.devices` and `Device.services` share; `name` is a case-insensitive substring,
    `id` matches per the ids_case_sensitive setting."""
    return (
        (args.get("id") is None or any(settings.same_id(item_id, value) for value in args["id"]))
        and (args.get("name") is None or args["name"].lower() in (name or "").lower())
        and (args.get("state") is None or state == args["state"])
        and (args.get("hardwareId") is None or hardware_id == args["hardwareId"])
        and (args.get("application") is None or not applications.isdisjoint(args["application"]))
    )


def _sorted(items, sort):
    """`name`, `id` or `state`, `-` in front for descending; ties keep id order."""
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise GraphQLError(f"Unsupported sort {sort!r}: use one of {', '.join(SORT_KEYS)} (prefix - to reverse)")
    return sorted(items, key=lambda item: ((getattr(item, key) or "").lower(), item.id), reverse=sort.startswith("-"))


def _page(devices, args):
    """One page of PaginatedDeviceResponse: `after` (a device id) wins over `from`; size capped at 1000."""
    start = max(args.get("from") or 0, 0)
    if args.get("after") is not None:
        ids = [id_key(device.id) for device in devices]
        after = id_key(args["after"])
        start = ids.index(after) + 1 if after in ids else len(devices)
    size = DEFAULT_PAGE if args.get("size") is None else min(max(args["size"], 0), MAX_PAGE)
    items = devices[start:start + size]
    return {"items": items, "hasMore": start + len(items) < len(devices), "last": items[-1].id if items else None, "total": len(devices)}


def _sessions(info, belongs):
    """Live proxies for which `belongs(proxy)` holds, as Session objects.

    Whether a never-used proxy is listed is an unknown of the real API, so it is a setting.
    """
    context = info.context
    return [proxy for proxy in context.registry.live() if belongs(proxy) and (context.settings.sessions_list_unused or proxy.used)]


def _lookup(table, ids, settings):
    """The objects of `table` (world devices or services) with these ids, in the order asked; with
    ids_case_sensitive only ids in the case the sandbox serves them find anything."""
    return [table[id_key(item_id)] for item_id in ids if id_key(item_id) in table and settings.same_id(table[id_key(item_id)].id, item_id)]


def _user_account(account, info, **args):
    selected = info.context.world.find_account(account, args.get("id"), args.get("email"))
    if selected is None:
        raise GraphQLError("Account not found or not accessible")
    return selected


def _user_devices(account, info, **args):
    settings = info.context.settings
    devices = [
        device for device in account.devices
        if _matches(args, settings, item_id=device.id, name=device.name, state=device.state, hardware_id=device.hardware_id,
                    applications={service.app.id for service in device.services})
        and _tagged(device, args.get("tag"), settings)
    ]
    return _page(_sorted(devices, args["sort"]), args)


def _tagged(device, tag_filter, settings):
    """The `tag: {operator, values}` filter: ANY or ALL of the values, names compared per tags_case_sensitive."""
    if tag_filter is None:
        return True
    found = [any(isinstance(value, str) and settings.same_tag(name, value) for name in device.tags) for value in tag_filter["values"]]
    return all(found) if tag_filter["operator"] == "ALL" else any(found)


def _device_tags(device, _info, **_args):
    """A device's tags as DeviceTag objects; a device of the world file holds only tags its account defined."""
    return [device.owner.tags[name] for name in device.tags]


def _tag_account(info, account_id):
    """The account whose tags a tag mutation changes: the caller's own, or the organisation `accountId` names."""
    account = info.context.world.find_account(info.context.user, account_id) if account_id else info.context.user
    if account is None:
        raise GraphQLError("Account not found or not accessible")
    return account


def _tagged_devices(info, account, service_ids):
    """The devices of `account` that `serviceId` names: by one of their services' ids, and by their own id unless
    tag_device_id is refused. Any id that names none fails the whole mutation."""
    context = info.context
    devices = []
    for service_id in service_ids:
        device = context.world.devices.get(id_key(service_id))
        if device is not None and (context.settings.tag_device_id == "refused" or not context.settings.same_id(device.id, service_id)):
            device = None
        service = context.world.services.get(id_key(service_id))
        if device is None and service is not None and context.settings.same_id(service.id, service_id):
            device = service.device
        if device is None or device.owner is not account:
            raise GraphQLError(f"Service not found: {service_id}")
        devices.append(device)
    return devices


def _held(device, name, settings):
    return next((held for held in device.tags if settings.same_tag(held, name)), None)


def _defined(account, name, settings):
    return next((defined for defined in account.tags if settings.same_tag(defined, name)), None)


def _set_tag(_root, info, **args):
    settings = info.context.settings
    account = _tag_account(info, args.get("accountId"))
    for tag in args["tag"]:
        account.define_tag(_defined(account, tag["name"], settings) or tag["name"], tag.get("color"))
    return True


def _add_tag(_root, info, **args):
    """Tag each device; a name the account has not defined is created or refused, per add_tag_undefined."""
    settings = info.context.settings
    account = _tag_account(info, args.get("accountId"))
    devices = _tagged_devices(info, account, args["serviceId"])
    names = []
    for name in args["name"]:
        defined = _defined(account, name, settings)
        if defined is None and settings.add_tag_undefined == "error":
            raise GraphQLError(f"Tag not found: {name}")
        names.append(defined or account.define_tag(name).name)
    for device in devices:
        device.tags = tuple(device.tags) + tuple(name for name in dict.fromkeys(names) if _held(device, name, settings) is None)
    return True


def _remove_tag(_root, info, **args):
    """Untag each device; a tag a device does not hold answers per remove_tag_absent (true, false, or an error
    before anything is removed)."""
    settings = info.context.settings
    account = _tag_account(info, args.get("accountId"))
    devices = _tagged_devices(info, account, args["serviceId"])
    absent = [name for name in args["name"] for device in devices if _held(device, name, settings) is None]
    if absent and settings.remove_tag_absent == "error":
        raise GraphQLError(f"Tag {absent[0]} is not on that service")
    for device in devices:
        device.tags = tuple(held for held in device.tags if not any(settings.same_tag(held, name) for name in args["name"]))
    return not absent or settings.remove_tag_absent == "true"


def _device_services(device, info, **args):
    services = [
        service for service in device.services
        if _matches(args, info.context.settings, item_id=service.id, name=service.name, state=service.state, hardware_id=device.hardware_id,
                    applications={service.app.id})
    ]
    return _sorted(services, args["sort"])


def _connect(_root, info, **args):
    context = info.context
    service_id = args["serviceId"]
    if context.settings.validate_ids and not REMOTEIT_ID.match(service_id):
        raise GraphQLError(f"Invalid service ID: {service_id}")
    service = context.world.find_service(context.user, service_id)
    if service is None or not context.settings.same_id(service.id, service_id):
        raise GraphQLError(f"Service not found: {service_id}")
    if service.device.state != "active":
        raise GraphQLError(f"Device {service.device.name} is inactive")
    if service.state != "active":
        raise GraphQLError(f"Service {service.name} is inactive")
    if not service.enabled:
        raise GraphQLError(f"Service {service.name} is disabled")
    try:
        host_ip = check_host_ip(args["hostIP"])
    except ValueError as exc:
        raise GraphQLError(str(exc)) from None
    proxy_type = args["type"]
    reverse_proxy = proxy_type == "REVERSE_PROXY" or (proxy_type == "AUTO_PROXY" and service.app.proxy)
    return context.registry.open(service, context.user, host_ip, reverse_proxy)


def _disconnect(_root, info, **args):
    """Close one of the caller's proxies by its connection id (never a session id: see the session_ids setting);
    an unknown id answers per the disconnect_unknown setting, worded as disconnect_unknown_message."""
    context = info.context
    settings = context.settings
    connection_id = args["connectionId"]
    proxy = context.registry.get(connection_id)
    service_id = args.get("serviceId")
    if (
        proxy is not None
        and proxy.user is context.user
        and settings.same_id(proxy.id, connection_id)
        and (service_id is None or settings.same_id(proxy.service.id, service_id))
        and context.registry.close(proxy.id)
    ):
        return True
    if settings.disconnect_unknown == "false":
        return False
    raise GraphQLError(settings.disconnect_unknown_message)


def _bind(type_name, **resolvers):
    fields = SCHEMA.type_map[type_name].fields
    for field_name, resolver in resolvers.items():
        fields[field_name].resolve = resolver


_bind(
    "Query",
    login=lambda _root, info: info.context.user,
    applicationTypes=lambda _root, _info: list(APPLICATION_TYPES.values()),
    version=lambda _root, _info: VERSION,
)
_bind("Mutation", connect=_connect, disconnect=_disconnect, setTag=_set_tag, addTag=_add_tag, removeTag=_remove_tag)
_bind(
    "User",
    account=_user_account,
    devices=_user_devices,
    device=lambda account, info, **args: [
        device for device in _lookup(info.context.world.devices, args["id"], info.context.settings) if device.owner is account
    ],
    service=lambda account, info, **args: [
        service for service in _lookup(info.context.world.services, args["id"], info.context.settings)
        if service.device.owner is account
    ],
    sessions=lambda account, info: _sessions(info, lambda proxy: account in (proxy.user, proxy.service.device.owner)),
    tags=lambda account, _info: list(account.tags.values()),
)
_bind(
    "Device",
    enabled=lambda _device, _info: True,
    hardwareId=lambda device, _info: device.hardware_id,
    services=_device_services,
    sessions=lambda device, info: _sessions(info, lambda proxy: proxy.service.device is device),
    tags=_device_tags,
)
for _service_type in ("Service", "ServiceReference"):
    _bind(
        _service_type,
        type=lambda service, _info: str(service.app.id),
        application=lambda service, _info: service.app.id,
        title=lambda service, _info: service.app.name,
    )
_bind("Service", sessions=lambda service, info: _sessions(info, lambda proxy: proxy.service is service))
_bind(
    "Session",
    id=lambda proxy, _info: proxy.session_id,
    timestamp=lambda proxy, _info: proxy.created,
    state=lambda proxy, _info: "connected" if proxy.live_connections else "open",
    connected=lambda proxy, _info: proxy.live_connections > 0,
    source=lambda proxy, _info: "EXTERNAL" if proxy.used else "UNKNOWN",
    address=lambda proxy, _info: proxy.last_source,
    user=lambda proxy, _info: proxy.user,
    target=lambda proxy, _info: proxy.service,
)
_bind(
    "Connection",
    reverseProxy=lambda proxy, _info: proxy.reverse_proxy,
    port=lambda proxy, _info: None if proxy.reverse_proxy else proxy.port,
    timeout=lambda proxy, _info: int(proxy.lifetime),
    session=lambda proxy, info: None if info.context.settings.connect_session == "null" else proxy,
)

# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The world the sandbox serves: access keys, accounts, devices, services and settings.

Loaded from a YAML file or a dict (format in tests/sandbox/README.md) and validated up front,
so a typo in a test's world fails loudly at start instead of as an odd API answer later.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import os
import re
from pathlib import Path

import yaml

DEMO_WORLD = Path(__file__).resolve().parent.parent / "worlds" / "demo.yml"
DEMO_KEY_ID = "SBXDEMOACCESSKEY0001"
DEMO_SECRET = "c2FuZGJveC1kZW1vLXNlY3JldC1kby1ub3QtdXNlIQ=="
DEMO_USER_ID = "5e1f0a2b-0000-4000-8000-000000000001"
DEMO_EMAIL = "demo@example.com"

REMOTEIT_ID = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){7}$", re.IGNORECASE)
PLACEHOLDER = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
STATES = ("active", "inactive")


class WorldError(ValueError):
    """A world file or setting the sandbox cannot serve."""


def id_key(item_id):
    """The index key of a device or service id: ids match case-insensitively, as remote.it's do."""
    return item_id.upper()


@dataclasses.dataclass(frozen=True)
class ApplicationType:
    """A remote.it application (service) type; field names are the schema's."""

    id: int
    name: str
    description: str
    port: int | None
    proxy: bool
    scheme: str
    protocol: str = "TCP"


APPLICATION_TYPES = {
    app.id: app
    for app in (
        ApplicationType(1, "TCP", "Generic TCP", None, False, "tcp"),
        ApplicationType(4, "VNC", "VNC Remote Desktop", 5900, False, "vnc"),
        ApplicationType(5, "RDP", "Remote Desktop Protocol", 3389, False, "rdp"),
        ApplicationType(7, "HTTP", "HTTP Web Server", 80, True, "http"),
        ApplicationType(8, "HTTPS", "HTTPS Web Server", 443, True, "https"),
        ApplicationType(28, "SSH", "Secure Shell", 22, False, "ssh"),
    )
}


def _unknown(default, choices=None):
    """A Settings field that answers one of the API's unknowns (the README's table "The API's unknowns" names each).

    `choices`: the values it takes, the default among them; None for a free value (a message, seconds).
    """
    # pylint: disable-next=invalid-field-call  # it is called in a class body
    return dataclasses.field(default=default, metadata={"unknown": True, "choices": choices})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Behaviour knobs, including the sandbox's answers to the API's documented unknowns.

    The fields made with `_unknown` are those answers (UNKNOWN_SWITCHES); their defaults are the friendly ones.
    """

    lifetime: float = 28800
    idle_timeout: float = 900
    disconnect_unknown: str = _unknown("error", ("error", "false"))
    disconnect_unknown_message: str = _unknown("Connection not found")
    sessions_list_unused: bool = _unknown(True, (True, False))
    clock_skew: float = _unknown(300)
    session_ids: str = _unknown("same", ("same", "distinct"))
    connect_session: str = _unknown("object", ("object", "null"))
    id_case: str = _unknown("upper", ("upper", "lower"))
    ids_case_sensitive: bool = _unknown(False, (False, True))
    offline_proxies: str = _unknown("stay", ("stay", "close"))
    tags_case_sensitive: bool = _unknown(True, (True, False))
    add_tag_undefined: str = _unknown("create", ("create", "error"))
    remove_tag_absent: str = _unknown("true", ("true", "false", "error"))
    tag_device_id: str = _unknown("accepted", ("accepted", "refused"))
    validate_ids: bool = True  # false: device and service ids may be any string, to test a client's own checks

    @classmethod
    def merge(cls, world_settings, overrides):
        """World `settings:` over the defaults, then explicit (non-None) overrides on top."""
        values = dict(world_settings or {})
        unknown = set(values) | set(overrides)
        unknown -= {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise WorldError(f"unknown settings: {', '.join(sorted(unknown))}")
        # YAML reads a bare `false` and `null` as a boolean and None: the world file means the words.
        if values.get("disconnect_unknown") is False:
            values["disconnect_unknown"] = "false"
        if "connect_session" in values and values["connect_session"] is None:
            values["connect_session"] = "null"
        if isinstance(values.get("remove_tag_absent"), bool):
            values["remove_tag_absent"] = str(values["remove_tag_absent"]).lower()
        values.update({name: value for name, value in overrides.items() if value is not None})
        settings = cls(**values)
        for name in ("lifetime", "idle_timeout", "clock_skew"):
            value = getattr(settings, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise WorldError(f"setting {name} must be a positive number of seconds, not {value!r}")
        for field in dataclasses.fields(cls):
            choices = field.metadata.get("choices")
            value = getattr(settings, field.name)
            if choices and not any(type(value) is type(choice) and value == choice for choice in choices):
                wanted = " or ".join(repr(choice).lower() if isinstance(choice, bool) else repr(choice) for choice in choices)
                raise WorldError(f"setting {field.name} must be {wanted}, not {value!r}")
        if not isinstance(settings.validate_ids, bool):
            raise WorldError("setting validate_ids must be true or false")
        if not isinstance(settings.disconnect_unknown_message, str) or not settings.disconnect_unknown_message.strip():
            raise WorldError(f"setting disconnect_unknown_message must be a non-empty string, not {settings.disconnect_unknown_message!r}")
        return settings

    def served_id(self, item_id):
        """A hex id (device, service, connection, session) in the case the API serves ids (`id_case`)."""
        return item_id.lower() if self.id_case == "lower" else item_id.upper()

    def same_id(self, served, given):
        """Whether a lookup by `given` finds the id `served`: any case, or with `ids_case_sensitive` exactly it."""
        return served == given if self.ids_case_sensitive else id_key(served) == id_key(given)

    def same_tag(self, held, given):
        """Whether the tag name `given` names the tag `held`: exactly, or in any case without `tags_case_sensitive`."""
        return held == given if self.tags_case_sensitive else held.casefold() == given.casefold()


UNKNOWN_SWITCHES = tuple(field.name for field in dataclasses.fields(Settings) if field.metadata.get("unknown"))


@dataclasses.dataclass(eq=False)
class Account:
    """A user, or an organisation whose devices its members reach through `account(id:)`."""

    id: str
    email: str
    is_org: bool = False
    members: frozenset = frozenset()
    devices: list = dataclasses.field(default_factory=list)
    tags: dict = dataclasses.field(default_factory=dict)  # the account's tag definitions: name -> Tag

    def define_tag(self, name, color=None):
        """Create the tag, or change its color; replaces the dict, so a request being answered sees a whole one."""
        tag = self.tags.get(name)
        self.tags = dict(self.tags, **{name: Tag(name, color, tag.created if tag else _now())})
        return self.tags[name]


@dataclasses.dataclass(frozen=True)
class Tag:
    """A tag definition of an account; a device or service holds tags by name."""

    name: str
    color: int | None
    created: str


@dataclasses.dataclass(eq=False)
class Device:
    """A device of an account; only active devices accept connections."""

    id: str
    name: str
    state: str
    hardware_id: str | None
    owner: Account
    services: list = dataclasses.field(default_factory=list)
    tags: tuple = ()

    @property
    def online(self):
        return self.state == "active"

    def set_state(self, state):
        """Bring the device online (active) or take it offline (inactive), as remote.it sees it happen.

        Its services follow: offline with it, and back to their own state when it returns.
        """
        self.state = _state(state, f"device {self.id}")
        for service in self.services:
            service.state = service.own_state if state == "active" else "inactive"

    def snapshot(self):
        """The device as the inspection endpoints show it."""
        return {"id": self.id, "name": self.name, "state": self.state, "account": self.owner.id, "tags": list(self.tags),
                "services": [{"id": service.id, "name": service.name, "state": service.state} for service in self.services]}


@dataclasses.dataclass(eq=False)
class Service:
    """A device's service; `target` (host, port) is sandbox-only: where its proxies forward to.

    `own_state` is the state the world gave it (default active), which it returns to when its device comes online.
    """

    id: str
    name: str
    app: ApplicationType
    port: int | None
    host: str
    enabled: bool
    state: str
    own_state: str
    target: tuple | None
    device: Device

    @property
    def online(self):
        return self.state == "active"


@dataclasses.dataclass(frozen=True)
class AccessKey:
    """An access key as users hold it: key id and base64 secret (validated at load)."""

    id: str
    secret: str
    user: Account

    @property
    def hmac_key(self):
        return base64.b64decode(self.secret)


@dataclasses.dataclass
class World:
    """Everything a sandbox serves, indexed by id (device and service ids by id_key).

    `settings` is the world file's raw `settings:`; Settings.merge validates it.
    """

    settings: dict
    keys: dict
    accounts: dict
    devices: dict
    services: dict

    def accounts_of(self, user):
        """The accounts `user` may act in: itself and every organisation it is a member of."""
        return [user] + [account for account in self.accounts.values() if user.id in account.members]

    def find_account(self, user, account_id=None, email=None):
        """What `account(id:, email:)` selects for `user`, or None when it may not."""
        for account in self.accounts_of(user):
            if account_id is not None and account.id != account_id:
                continue
            if email is not None and account.email.lower() != email.lower():
                continue
            return account
        return None

    def find_device(self, device):
        """The device with this id, or else with exactly this name. KeyError: none; ValueError: several."""
        if isinstance(device, str) and id_key(device) in self.devices:
            return self.devices[id_key(device)]
        named = [item for item in self.devices.values() if item.name == device]
        if not named:
            raise KeyError(f"no device with id or name {device!r}")
        if len(named) > 1:
            raise ValueError(f"several devices are named {device!r}: give its id")
        return named[0]

    def remove_device(self, device):
        """Delete the device and its services from the world, as remote.it does when its owner deletes it.

        Lists are replaced, never changed in place, so a request being answered meanwhile sees a whole list.
        """
        owner = device.owner
        owner.devices = [item for item in owner.devices if item is not device]
        for service in device.services:
            self.services.pop(id_key(service.id), None)
        self.devices.pop(id_key(device.id), None)

    def find_service(self, user, service_id):
        """A service that `user` may connect to, or None."""
        service = self.services.get(id_key(service_id))
        if service is not None and service.device.owner in self.accounts_of(user):
            return service
        return None


def load_world(source=None, env=None, validate_ids=None, id_case=None):
    """Build a World from a YAML path or a dict (default: the demo world).

    `${VAR}` and `${VAR:-default}` in service targets are replaced from `env` (default os.environ).
    `validate_ids` and `id_case`, unless None, override the world's settings of those names.
    """
    if source is None:
        source = DEMO_WORLD
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    else:
        data = source
    if not isinstance(data, dict):
        raise WorldError("a world must be a mapping")
    settings = Settings.merge(data.get("settings"), {"validate_ids": validate_ids, "id_case": id_case})
    return _Builder(os.environ if env is None else env, validate_ids=settings.validate_ids, id_case=settings.id_case).build(data)


def add_device(world, entry, account_id=None, env=None, validate_ids=True, id_case="upper"):
    """Register a device (a world file's device entry) in a running world, as when someone installs remote.it on
    a machine; in the account `account_id`, by default the first user's. Returns the Device. Without
    `validate_ids` its ids may be any strings, as the running world's setting allows; with it they are served in
    `id_case`.

    WorldError: an invalid entry, a taken id, or no such account. Lists are replaced, never changed in place.
    """
    if account_id is None:
        account = next(account for account in world.accounts.values() if not account.is_org)
    elif account_id in world.accounts:
        account = world.accounts[account_id]
    else:
        raise WorldError(f"no account with id {account_id!r}")
    builder = _Builder(os.environ if env is None else env, validate_ids, world, id_case)
    devices, services = dict(world.devices), dict(world.services)
    try:
        device = builder.device(entry, account)
    except WorldError:
        world.devices, world.services = devices, services  # nothing of a rejected entry stays
        raise
    account.devices = account.devices + [device]
    return device


class _Builder:
    """Turns world data into linked objects, checking ids, references and values on the way."""

    def __init__(self, env, validate_ids, world=None, id_case="upper"):
        self.env = env
        self.validate_ids = validate_ids
        self.id_case = id_case
        self.world = world or World(settings={}, keys={}, accounts={}, devices={}, services={})

    def build(self, data):
        self.world.settings = data.get("settings") or {}
        for entry in data.get("users") or []:
            self._account(entry, is_org=False)
        for entry in data.get("organizations") or []:
            self._account(entry, is_org=True)
        for entry in data.get("access_keys") or []:
            self._access_key(entry)
        if not self.world.keys:
            raise WorldError("a world needs at least one access key")
        return self.world

    def _account(self, entry, is_org):
        account_id = _required(entry, "id", "account")
        if account_id in self.world.accounts:
            raise WorldError(f"duplicate account id {account_id}")
        members = frozenset(entry.get("members") or ())
        unknown = members - {a.id for a in self.world.accounts.values() if not a.is_org}
        if unknown:
            raise WorldError(f"organization {account_id}: members must be ids of listed users: {', '.join(sorted(unknown))}")
        account = Account(id=account_id, email=_required(entry, "email", f"account {account_id}"), is_org=is_org, members=members)
        self.world.accounts[account_id] = account
        for name in _tag_names(entry, f"account {account_id}"):
            account.define_tag(name)
        for device_entry in entry.get("devices") or []:
            account.devices.append(self.device(device_entry, account))

    def device(self, entry, owner):
        device_id = self._new_id(entry, self.world.devices, "device")
        device = Device(
            id=device_id,
            name=_required(entry, "name", f"device {device_id}"),
            state=_state(entry.get("state", "active"), f"device {device_id}"),
            hardware_id=entry.get("hardwareId"),
            owner=owner,
            tags=_tag_names(entry, f"device {device_id}"),
        )
        for name in device.tags:  # a tag on a device is one of its account's
            if name not in owner.tags:
                owner.define_tag(name)
        self.world.devices[id_key(device_id)] = device
        for service_entry in entry.get("services") or []:
            device.services.append(self._service(service_entry, device))
        return device

    def _service(self, entry, device):
        service_id = self._new_id(entry, self.world.services, "service")
        where = f"service {service_id}"
        app = APPLICATION_TYPES.get(entry.get("application"))
        if app is None:
            raise WorldError(f"{where}: application must be one of {sorted(APPLICATION_TYPES)}, not {entry.get('application')!r}")
        service = Service(
            id=service_id,
            name=_required(entry, "name", where),
            app=app,
            port=entry.get("port", app.port),
            host=entry.get("host", "127.0.0.1"),
            enabled=bool(entry.get("enabled", True)),
            state=_state(entry.get("state", device.state), where),
            own_state=_state(entry.get("state", "active"), where),
            target=self._target(entry.get("target"), where),
            device=device,
        )
        self.world.services[id_key(service_id)] = service
        return service

    def _access_key(self, entry):
        key_id = _required(entry, "id", "access key")
        user = self.world.accounts.get(entry.get("user"))
        if user is None or user.is_org:
            raise WorldError(f"access key {key_id}: user must be the id of a listed user, not {entry.get('user')!r}")
        secret = _required(entry, "secret", f"access key {key_id}")
        try:
            base64.b64decode(secret, validate=True)
        except (binascii.Error, TypeError) as exc:
            raise WorldError(f"access key {key_id}: secret is not base64") from exc
        self.world.keys[key_id] = AccessKey(key_id, secret, user)

    def _new_id(self, entry, existing, kind):
        """The id as served: 8 hex octets in the id_case's case, or without validate_ids any string exactly as given."""
        item_id = _required(entry, "id", kind)
        if self.validate_ids:
            item_id = str(item_id).lower() if self.id_case == "lower" else str(item_id).upper()
            if not REMOTEIT_ID.match(item_id):
                raise WorldError(f"{kind} id {item_id!r} is not 8 hex octets separated by colons")
        elif not isinstance(item_id, str):
            raise WorldError(f"{kind} id {item_id!r} is not a string")
        if id_key(item_id) in existing:
            raise WorldError(f"duplicate {kind} id {item_id}")
        return item_id

    def _target(self, value, where):
        """Parse `host:port` (IPv6 in brackets) after substituting ${VAR} placeholders."""
        if value is None:
            return None

        def substitute(match):
            name, default = match.groups()
            if name in self.env:
                return self.env[name]
            if default is None:
                raise WorldError(f"{where}: target needs ${{{name}}}, which is not set")
            return default

        host, port = PLACEHOLDER.sub(substitute, str(value)).rpartition(":")[::2]
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise WorldError(f"{where}: target must be host:port, not {value!r}")
        return host.strip("[]"), int(port)


def _required(entry, key, where):
    if not isinstance(entry, dict) or entry.get(key) in (None, ""):
        raise WorldError(f"{where}: missing {key}")
    return entry[key]


def _tag_names(entry, where):
    """The entry's `tags`: a list of distinct non-empty strings, which may be anything else (names are chosen by users)."""
    names = entry.get("tags") or []
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise WorldError(f"{where}: tags must be a list of non-empty strings, not {names!r}")
    if len(set(names)) != len(names):
        raise WorldError(f"{where}: tags must not repeat a name: {names!r}")
    return tuple(names)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _state(value, where):
    if value not in STATES:
        raise WorldError(f"{where}: state must be active or inactive, not {value!r}")
    return value


def generate_world(n_devices, key_id=DEMO_KEY_ID, secret=DEMO_SECRET):
    """A world of `n_devices` numbered devices for scale tests, with the demo's credentials.

    Every device has an `ssh` service; every 5th also `web` (HTTP); every 10th is inactive. Odd devices are tagged
    `eu-west`, even ones `us-east`, and 30 evenly spread ones (all of them in a world of fewer) also `canary`.
    """
    width = max(5, len(str(n_devices)))
    canary_every = max(1, n_devices // 30)
    devices = []
    for index in range(1, n_devices + 1):
        tags = ["eu-west" if index % 2 else "us-east"] + (["canary"] if index % canary_every == 0 else [])
        state = "inactive" if index % 10 == 0 else "active"
        services = [_generated_service(0x11, index, "ssh", 28, "${DEVICE_SSH_PORT:-22}")]
        if index % 5 == 0:
            services.append(_generated_service(0x12, index, "web", 7, "${DEVICE_HTTP_PORT:-80}"))
        devices.append({"id": _generated_id(0x10, index), "name": f"device-{index:0{width}d}", "state": state, "services": services,
                        "tags": tags})
    return {
        "access_keys": [{"id": key_id, "secret": secret, "user": DEMO_USER_ID}],
        "users": [{"id": DEMO_USER_ID, "email": DEMO_EMAIL, "devices": devices}],
    }


def _generated_service(kind, index, name, application, port):
    return {"id": _generated_id(kind, index), "name": name, "application": application, "target": f"127.0.0.1:{port}"}


def _generated_id(kind, index):
    """`80:00:00:<kind>:` followed by `index` as four octets."""
    return ":".join(f"{octet:02X}" for octet in (0x80, 0, 0, kind, *index.to_bytes(4, "big")))

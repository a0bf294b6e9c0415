# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""remote.it tags: selecting devices by them, and changing a device's, for every plugin alike.

Whether remote.it compares tag names with regard to case is not known, so this collection compares them without
(`Canary` is `canary`) and sends back the spelling remote.it already has: then either answer behaves the same.
Whether a tag mutation did what was asked is decided from the device's tags as remote.it lists them afterwards, not
from its answer, whose meaning (false for a tag a device lacks? an error?) is not known either.
"""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._api import same_id
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AuthError,
    CredentialsError,
    DependencyError,
    EndpointError,
    InvalidInputError,
    NetworkError,
    RemoteitError,
    ResponseError,
    ThrottledError,
    TlsError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import find_device, listed, listed_names
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import bounded, shown

MATCHES = ("any", "all")
# Failures that say nothing about the mutation itself end the task as they are, unless remote.it answered the
# mutation (HTTP 200 with GraphQL errors): a "forbidden" there may be how it refuses a device's id as serviceId.
NOT_AN_ANSWER = (AuthError, CredentialsError, DependencyError, EndpointError, NetworkError, ThrottledError, TlsError)
ANSWERED = 200
MAX_REFUSALS = 300
# Reads of the device's tags after a mutation remote.it said it carried out, before asking again another way: a
# listing may lag behind a write.
READ_BACKS = 3


def tag_key(name):
    """A tag name as a dict key or set member, so that its spellings meet; never sent to the API."""
    return name.casefold()


def checked_tags(tags, option="tags"):
    """The tag names a user gave, each once (its first spelling): non-empty strings with something but spaces.

    A whole number is its digits (YAML reads `tags: [2024]` as a number), as the modules' argument spec makes it.
    """
    names = {}
    for tag in tags or []:
        if isinstance(tag, int) and not isinstance(tag, bool):
            tag = str(tag)
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidInputError("%s: %s is not a tag name (a non-empty string)" % (option, shown(tag)))
        names.setdefault(tag_key(tag), tag)
    return list(names.values())


def has_tags(device, tags, match="any"):
    """Whether the device holds any (or all) of the tags, compared without regard to case."""
    if not tags:
        return True
    held = {tag_key(name) for name in device["tags"]}
    found = [tag_key(tag) in held for tag in tags]
    return all(found) if match == "all" else any(found)


def api_filter(client, tags, match="any"):
    """The `tag` filter of remote.it's device list (a ListFilter), or None for no tags.

    Costs one query, for the account's tag names: a name is sent as the account spells it (all its spellings, should
    remote.it hold several), so that remote.it finds the devices whether it compares case or not. With several
    spellings of one name, `all` is asked as ANY, and has_tags decides.
    """
    tags = checked_tags(tags)
    if not tags:
        return None
    spellings = _spellings(client)
    per_tag = [spellings.get(tag_key(tag)) or [tag] for tag in tags]
    if match == "all" and all(len(names) == 1 for names in per_tag):
        return {"operator": "ALL", "values": [names[0] for names in per_tag]}
    return {"operator": "ANY", "values": list(dict.fromkeys(name for names in per_tag for name in names))}


def ensure_tags(client, device, tags, state="present", exclusive=False, check_mode=False):
    """Make the device (a name or id, found as the other modules find one) hold, or not hold, these tags.

    Nothing to change sends no mutation; check mode sends none either. Returns the result of remoteit_device_tags.
    """
    wanted = checked_tags(tags)
    if exclusive and state != "present":
        raise InvalidInputError("exclusive applies to state=present only: it removes the tags that tags does not name")
    found = find_device(client, device)
    before = found["tags"]
    wanted_keys = {tag_key(tag) for tag in wanted}
    held_keys = {tag_key(tag) for tag in before}
    if state == "present":
        to_add = [tag for tag in wanted if tag_key(tag) not in held_keys]
        to_remove = [tag for tag in before if tag_key(tag) not in wanted_keys] if exclusive else []
    else:
        to_add = []
        to_remove = [tag for tag in before if tag_key(tag) in wanted_keys]
    if not to_add and not to_remove:
        return _result(found, before, before)
    if to_add:  # sent as the account spells them: so remote.it finds them, whether it compares case or not
        spellings = _spellings(client)
        undefined = [tag for tag in to_add if tag_key(tag) not in spellings]
        to_add = [spellings[tag_key(tag)][0] if tag_key(tag) in spellings else tag for tag in to_add]
    if check_mode:
        removed = {tag_key(tag) for tag in to_remove}
        return _result(found, before, [tag for tag in before if tag_key(tag) not in removed] + to_add)
    return _result(found, before, _change(client, found, to_add, to_remove, undefined if to_add else []))


def _spellings(client):
    """The account's tag names by tag_key: each tag's spellings (one, unless remote.it compares case)."""
    spellings = {}
    for name in client.account_tags():
        spellings.setdefault(tag_key(name), []).append(name)
    return spellings


def _result(device, before, after):
    before_keys, after_keys = {tag_key(tag) for tag in before}, {tag_key(tag) for tag in after}
    result = {
        "device": {"id": device["id"], "name": device["name"]},
        "tags": after,
        "added": [tag for tag in after if tag_key(tag) not in before_keys],
        "removed": [tag for tag in before if tag_key(tag) not in after_keys],
    }
    result["changed"] = bool(result["added"] or result["removed"])
    if result["changed"]:
        result["diff"] = {"before": {"tags": before}, "after": {"tags": after}}
    return result


def _change(client, device, to_add, to_remove, undefined):
    """Send the mutations, then read the device's tags back; the tags it holds afterwards.

    The tags in `undefined` are defined first (setTag). remote.it may not take a device's id as the serviceId of
    addTag and removeTag: what its own id did not change is asked again with its services' ids.
    """
    refusals = []
    if undefined:
        _send(client.define_tags, "setTag", [undefined], refusals)
    pending_add, pending_remove = to_add, to_remove
    tried = []
    for ids in filter(None, ([device["id"]], [service["id"] for service in device["services"]])):
        tried.extend(ids)
        answered = []
        if pending_add:
            answered.append(_send(client.add_tags, "addTag", [pending_add, ids], refusals))
        if pending_remove:
            answered.append(_send(client.remove_tags, "removeTag", [pending_remove, ids], refusals))
        for attempt in range(READ_BACKS if all(answered) else 1):
            if attempt:
                client.pause(attempt - 1)
            after = _tags_of(client, device)
            held = {tag_key(tag) for tag in after}
            pending_add = [tag for tag in to_add if tag_key(tag) not in held]
            pending_remove = [tag for tag in to_remove if tag_key(tag) in held]
            if not pending_add and not pending_remove:
                return after
    left = "; ".join(part for part in (
        "not added: %s" % listed_names(pending_add) if pending_add else "",
        "not removed: %s" % listed_names(pending_remove) if pending_remove else "") if part)
    raise ResponseError("remote.it did not change the tags of device %s [%s] as asked (%s), asked with the ids %s%s; "
                        "it answered: %s"
                        % (shown(device["name"]), device["id"], left, listed(tried),
                           "; the account now defines %s" % listed_names(undefined) if undefined else "",
                           bounded("; ".join(refusals) or "nothing but success", MAX_REFUSALS)))


def _send(mutation, field, args, refusals):
    """Send one tag mutation; whether remote.it answered true. Any other answer, or its error, goes in `refusals`."""
    try:
        answer = mutation(*args)
    except RemoteitError as exc:
        if isinstance(exc, NOT_AN_ANSWER) and exc.status != ANSWERED:
            raise
        refusals.append("%s: %s" % (field, exc))
        return False
    if answer is not True:
        refusals.append("%s answered %s" % (field, "null" if answer is None else str(answer).lower()))
    return answer is True


def _tags_of(client, device):
    """The device's tags as remote.it lists them now."""
    listed = [item for item in client.devices_by_id([device["id"]]) if same_id(item["id"], device["id"])]
    if not listed:
        raise ResponseError("remote.it no longer lists device %s [%s]" % (shown(device["name"]), device["id"]))
    return listed[0]["tags"]

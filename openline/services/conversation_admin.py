"""Conversations set-up: services (IS…), the account's configuration, webhook configuration,
users (US…), roles (RL…) and address configurations (IG…).

Every account gets a default conversation service the first time it uses Conversations; it is
the service ``/v1/Conversations``, ``/v1/Users`` and ``/v1/Roles`` mean, and
``DefaultChatServiceSid`` on ``/v1/Configuration`` names another one. Each new service starts
with Twilio's four roles. Roles are stored and assigned, not enforced: the REST API acts with
the account's full rights, and chat clients, which roles limit, come with web chat.
Every lookup is scoped to the caller's account; foreign SIDs answer 20404 like unknown ones.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from openline.core.channels import Channel, parse_address
from openline.core.clock import Clock
from openline.core.conversations import (
    ALL_EVENTS,
    CONVERSATION_PERMISSIONS,
    DEFAULT_ROLES,
    DEFAULT_SERVICE_NAME,
    MAX_NAME,
    MIN_CLOSED,
    MIN_INACTIVE,
    SERVICE_PERMISSIONS,
    AccountConfig,
    AddressConfig,
    ChatService,
    ChatUser,
    Role,
    parse_duration,
    valid_attributes,
)
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.channels import ChannelDirectory
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.conversations import ConversationRepositories, delete_service_rows
from openline.storage.repositories.messaging import MessagingServiceRepository

ADDRESS_TYPES = ("sms", "whatsapp", "messenger", "telegram", "line")  # the channels Openline serves
AUTO_CREATION_TYPES = ("webhook", "default")


def check_attributes(value: str) -> str:
    if not valid_attributes(value):
        raise TwilioError(20001, "Attributes must be a JSON document of at most 16 KiB")
    return value


def check_name(value: str | None, parameter: str) -> str | None:
    if value is not None and len(value) > MAX_NAME:
        raise TwilioError(20001, f"{parameter} must be at most {MAX_NAME} characters")
    return value or None


def check_timer(value: str | None, parameter: str, minimum: Any) -> str | None:
    if not value:
        return None
    duration = parse_duration(value)
    if duration is None:
        raise TwilioError(20001, f"{parameter} must be an ISO 8601 duration such as PT10M")
    if duration < minimum:
        raise TwilioError(20001, f"{parameter} must be at least {int(minimum.total_seconds() // 60)} minutes")
    return value


def check_filters(values: list[str], allowed: frozenset[str], parameter: str) -> str:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise TwilioError(20001, f"{parameter} has unknown events: {', '.join(unknown)}")
    return json.dumps(list(dict.fromkeys(values)))


class ConversationAdmin:
    def __init__(self, db: Database, clock: Clock, repos: ConversationRepositories,
                 numbers: IncomingPhoneNumberRepository, messaging_services: MessagingServiceRepository,
                 channels: ChannelDirectory) -> None:
        self._db = db
        self._channels = channels
        self._clock = clock
        self._repos = repos
        self._numbers = numbers
        self._messaging_services = messaging_services

    # --- services ----------------------------------------------------------------------------

    async def _new_service(self, conn: Conn, account_sid: str, friendly_name: str, is_default: bool) -> ChatService:
        now = self._clock.now()
        sid = new_sid(SidPrefix.CHAT_SERVICE)
        roles: dict[str, str] = {}
        for name, kind, permissions in DEFAULT_ROLES:
            role = Role(new_sid(SidPrefix.ROLE), account_sid, sid, name, kind, json.dumps(list(permissions)),
                        now, now)
            await self._repos.roles.insert(conn, role)
            roles[name] = role.sid
        service = ChatService(
            sid=sid, account_sid=account_sid, friendly_name=friendly_name, is_default=is_default,
            default_conversation_creator_role_sid=roles["channel admin"],
            default_conversation_role_sid=roles["channel user"],
            default_chat_service_role_sid=roles["service user"], reachability_enabled=False,
            pre_webhook_url=None, post_webhook_url=None, webhook_method="POST", webhook_filters="[]",
            date_created=now, date_updated=now)
        return await self._repos.services.insert(conn, service)

    async def config(self, account: Account) -> AccountConfig:
        """The account's configuration, created with its default service on first use."""
        async with self._db.read() as conn:
            config = await self._repos.configs.get(conn, account.sid)
        if config is not None:
            return config
        try:
            async with self._db.transaction() as conn:
                config = await self._repos.configs.get(conn, account.sid)
                if config is None:
                    config = await self._create_config(conn, account.sid)
        except IntegrityError:  # created meanwhile by a concurrent request
            async with self._db.read() as conn:
                config = await self._repos.configs.get(conn, account.sid)
        if config is None:
            raise TwilioError(20500)
        return config

    async def config_in(self, conn: Conn, account_sid: str) -> AccountConfig:
        """The same inside the caller's transaction (inbound messages)."""
        config = await self._repos.configs.get(conn, account_sid)
        return config if config is not None else await self._create_config(conn, account_sid)

    async def _create_config(self, conn: Conn, account_sid: str) -> AccountConfig:
        now = self._clock.now()
        service = await self._new_service(conn, account_sid, DEFAULT_SERVICE_NAME, True)
        return await self._repos.configs.insert(conn, AccountConfig(
            sid=account_sid, account_sid=account_sid, default_chat_service_sid=service.sid,
            default_messaging_service_sid=None, default_inactive_timer=None, default_closed_timer=None,
            pre_webhook_url=None, post_webhook_url=None, webhook_method="POST", webhook_filters="[]",
            webhook_target="webhook", date_created=now, date_updated=now))

    async def service(self, account: Account, sid: str | None) -> ChatService:
        """The service a path names, or the account's default service."""
        if sid is None:
            sid = (await self.config(account)).default_chat_service_sid
        async with self._db.read() as conn:
            service = await self._repos.services.get(conn, sid, account_sids=[account.sid]) \
                if is_sid(sid, SidPrefix.CHAT_SERVICE) else None
        if service is None:
            raise not_found(f"The requested resource /Services/{sid} was not found")
        return service

    async def create_service(self, account: Account, friendly_name: str | None) -> ChatService:
        if not friendly_name:
            raise TwilioError(20001, "Missing required parameter FriendlyName in the post body")
        check_name(friendly_name, "FriendlyName")
        await self.config(account)  # the default service comes first
        async with self._db.transaction() as conn:
            return await self._new_service(conn, account.sid, friendly_name, False)

    async def list_services(self, account: Account, size: int, cursor: Cursor) -> Page[ChatService]:
        await self.config(account)
        async with self._db.read() as conn:
            return await self._repos.services.page_for(conn, account.sid, size, cursor)

    async def delete_service(self, account: Account, sid: str) -> None:
        service = await self.service(account, sid)
        config = await self.config(account)
        if config.default_chat_service_sid == service.sid:
            raise TwilioError(20001, "The default conversation service cannot be deleted: make another service "
                                     "the default first (DefaultChatServiceSid on /v1/Configuration)")
        async with self._db.transaction() as conn:
            await delete_service_rows(conn, service.sid)
            await self._repos.services.delete(conn, service.sid)

    async def update_service_config(self, account: Account, sid: str, values: Mapping[str, Any]) -> ChatService:
        service = await self.service(account, sid)
        changes = dict(values)
        for key in ("default_conversation_creator_role_sid", "default_conversation_role_sid"):
            if key in changes:
                await self._check_role(service, changes[key], "conversation")
        if "default_chat_service_role_sid" in changes:
            await self._check_role(service, changes["default_chat_service_role_sid"], "service")
        return await self._update_service(service, changes)

    async def update_service_webhooks(self, account: Account, sid: str, values: Mapping[str, Any]) -> ChatService:
        service = await self.service(account, sid)
        changes = dict(values)
        if "webhook_filters" in changes:
            changes["webhook_filters"] = check_filters(changes["webhook_filters"], ALL_EVENTS, "Filters")
        return await self._update_service(service, changes)

    async def _update_service(self, service: ChatService, changes: dict[str, Any]) -> ChatService:
        changes["date_updated"] = self._clock.now()
        async with self._db.transaction() as conn:
            updated = await self._repos.services.update(conn, service.sid, changes)
        if updated is None:
            raise not_found()
        return updated

    async def _check_role(self, service: ChatService, role_sid: str, kind: str) -> None:
        async with self._db.read() as conn:
            role = await self._repos.roles.get(conn, role_sid) if is_sid(role_sid, SidPrefix.ROLE) else None
        if role is None or role.chat_service_sid != service.sid or role.type != kind:
            raise TwilioError(20001, f"{role_sid} is not a {kind} role of service {service.sid}")

    # --- account configuration ---------------------------------------------------------------

    async def update_config(self, account: Account, values: Mapping[str, Any]) -> AccountConfig:
        config = await self.config(account)
        changes = dict(values)
        if "default_chat_service_sid" in changes:
            await self.service(account, changes["default_chat_service_sid"])
        if changes.get("default_messaging_service_sid"):
            async with self._db.read() as conn:
                found = await self._messaging_services.get(conn, changes["default_messaging_service_sid"],
                                                           account_sids=[account.sid])
            if found is None:
                raise TwilioError(21701, f"{changes['default_messaging_service_sid']} is not a messaging service "
                                         "of this account")
        if "default_inactive_timer" in changes:
            changes["default_inactive_timer"] = check_timer(changes["default_inactive_timer"],
                                                            "DefaultInactiveTimer", MIN_INACTIVE)
        if "default_closed_timer" in changes:
            changes["default_closed_timer"] = check_timer(changes["default_closed_timer"], "DefaultClosedTimer",
                                                          MIN_CLOSED)
        if "webhook_filters" in changes:
            changes["webhook_filters"] = check_filters(changes["webhook_filters"], ALL_EVENTS, "Filters")
        now = self._clock.now()
        async with self._db.transaction() as conn:
            if "default_chat_service_sid" in changes:
                await self._repos.services.change(conn, config.default_chat_service_sid, {"is_default": False})
                await self._repos.services.change(conn, changes["default_chat_service_sid"], {"is_default": True})
            updated = await self._repos.configs.update(conn, config.sid, {**changes, "date_updated": now})
        if updated is None:
            raise TwilioError(20500)
        return updated

    # --- users -------------------------------------------------------------------------------

    async def user(self, service: ChatService, sid_or_identity: str) -> ChatUser:
        async with self._db.read() as conn:
            if is_sid(sid_or_identity, SidPrefix.CHAT_USER):
                user = await self._repos.users.get(conn, sid_or_identity)
            else:
                user = await self._repos.users.by_identity(conn, service.sid, sid_or_identity)
        if user is None or user.chat_service_sid != service.sid:
            raise not_found(f"User {sid_or_identity} was not found")
        return user

    async def ensure_user(self, conn: Conn, service: ChatService, identity: str) -> ChatUser:
        """Twilio creates the user behind a chat participant when there is none yet."""
        user = await self._repos.users.by_identity(conn, service.sid, identity)
        if user is not None:
            return user
        now = self._clock.now()
        return await self._repos.users.insert(conn, ChatUser(
            new_sid(SidPrefix.CHAT_USER), service.account_sid, service.sid, identity, None, "{}",
            service.default_chat_service_role_sid, now, now))

    async def create_user(self, service: ChatService, values: Mapping[str, Any]) -> ChatUser:
        identity = values.get("identity")
        if not identity:
            raise TwilioError(20001, "Missing required parameter Identity in the post body")
        check_name(identity, "Identity")
        check_name(values.get("friendly_name"), "FriendlyName")
        if values.get("role_sid"):
            await self._check_role(service, values["role_sid"], "service")
        now = self._clock.now()
        user = ChatUser(new_sid(SidPrefix.CHAT_USER), service.account_sid, service.sid, identity,
                        values.get("friendly_name"), check_attributes(values.get("attributes") or "{}"),
                        values.get("role_sid") or service.default_chat_service_role_sid, now, now)
        try:
            async with self._db.transaction() as conn:
                if await self._repos.users.by_identity(conn, service.sid, identity) is not None:
                    raise TwilioError(50201, f"User with identity {identity} already exists")
                return await self._repos.users.insert(conn, user)
        except IntegrityError:
            raise TwilioError(50201, f"User with identity {identity} already exists") from None

    async def update_user(self, service: ChatService, sid: str, values: Mapping[str, Any]) -> ChatUser:
        user = await self.user(service, sid)
        changes = dict(values)
        changes.pop("identity", None)
        if "attributes" in changes:
            check_attributes(changes["attributes"])
        if "friendly_name" in changes:
            check_name(changes["friendly_name"], "FriendlyName")
        if changes.get("role_sid"):
            await self._check_role(service, changes["role_sid"], "service")
        async with self._db.transaction() as conn:
            updated = await self._repos.users.update(conn, user.sid, {**changes, "date_updated": self._clock.now()})
        if updated is None:
            raise not_found()
        return updated

    async def delete_user(self, service: ChatService, sid: str) -> None:
        user = await self.user(service, sid)
        async with self._db.transaction() as conn:
            await self._repos.users.delete(conn, user.sid)

    async def list_users(self, service: ChatService, size: int, cursor: Cursor) -> Page[ChatUser]:
        async with self._db.read() as conn:
            return await self._repos.users.page_for(conn, service.sid, size, cursor)

    # --- roles -------------------------------------------------------------------------------

    async def role(self, service: ChatService, sid: str) -> Role:
        async with self._db.read() as conn:
            role = await self._repos.roles.get(conn, sid) if is_sid(sid, SidPrefix.ROLE) else None
        if role is None or role.chat_service_sid != service.sid:
            raise not_found(f"Role {sid} was not found")
        return role

    @staticmethod
    def _permissions(kind: str, permissions: list[str]) -> str:
        if not permissions:
            raise TwilioError(20001, "Missing required parameter Permission")
        allowed = CONVERSATION_PERMISSIONS if kind == "conversation" else SERVICE_PERMISSIONS
        unknown = [p for p in permissions if p not in allowed]
        if unknown:
            raise TwilioError(20001, f"Permission values not valid for a {kind} role: {', '.join(unknown)}")
        return json.dumps(list(dict.fromkeys(permissions)))

    async def create_role(self, service: ChatService, friendly_name: str | None, kind: str | None,
                          permissions: list[str]) -> Role:
        if not friendly_name:
            raise TwilioError(20001, "Missing required parameter FriendlyName in the post body")
        check_name(friendly_name, "FriendlyName")
        if kind not in ("conversation", "service"):
            raise TwilioError(20001, "Type must be conversation or service")
        now = self._clock.now()
        role = Role(new_sid(SidPrefix.ROLE), service.account_sid, service.sid, friendly_name, kind,
                    self._permissions(kind, permissions), now, now)
        async with self._db.transaction() as conn:
            return await self._repos.roles.insert(conn, role)

    async def update_role(self, service: ChatService, sid: str, permissions: list[str]) -> Role:
        role = await self.role(service, sid)
        changes = {"permissions": self._permissions(role.type, permissions), "date_updated": self._clock.now()}
        async with self._db.transaction() as conn:
            updated = await self._repos.roles.update(conn, role.sid, changes)
        return updated or role

    async def delete_role(self, service: ChatService, sid: str) -> None:
        role = await self.role(service, sid)
        if role.sid in (service.default_chat_service_role_sid, service.default_conversation_role_sid,
                        service.default_conversation_creator_role_sid):
            raise TwilioError(20001, "A role the service uses as a default cannot be deleted")
        async with self._db.transaction() as conn:
            await self._repos.roles.delete(conn, role.sid)

    async def list_roles(self, service: ChatService, size: int, cursor: Cursor) -> Page[Role]:
        async with self._db.read() as conn:
            return await self._repos.roles.page_for(conn, service.sid, size, cursor)

    # --- address configurations --------------------------------------------------------------

    async def address(self, account: Account, sid_or_address: str) -> AddressConfig:
        async with self._db.read() as conn:
            if is_sid(sid_or_address, SidPrefix.ADDRESS_CONFIGURATION):
                item = await self._repos.addresses.get(conn, sid_or_address, account_sids=[account.sid])
            else:
                item = None
                for kind in ADDRESS_TYPES:
                    found = await self._repos.addresses.by_address(conn, kind, sid_or_address)
                    if found is not None and found.account_sid == account.sid:
                        item = found
        if item is None:
            raise not_found(f"Address configuration {sid_or_address} was not found")
        return item

    async def _check_address_values(self, account: Account, values: dict[str, Any]) -> None:
        if values.get("auto_creation_type") is not None and values["auto_creation_type"] not in AUTO_CREATION_TYPES:
            raise TwilioError(20001, "AutoCreation.Type must be webhook or default (Studio is not served)")
        if "webhook_filters" in values:
            values["webhook_filters"] = check_filters(values["webhook_filters"], ALL_EVENTS,
                                                      "AutoCreation.WebhookFilters")
        if values.get("conversation_service_sid"):
            await self.service(account, values["conversation_service_sid"])
        check_name(values.get("friendly_name"), "FriendlyName")

    async def create_address(self, account: Account, values: Mapping[str, Any]) -> AddressConfig:
        kind, raw = values.get("type"), values.get("address")
        if not kind or not raw:
            raise TwilioError(20001, "Missing required parameters Type and Address in the post body")
        if kind not in ADDRESS_TYPES:
            raise TwilioError(20001, f"Type {kind} is not served: Openline serves {', '.join(ADDRESS_TYPES)}")
        address, country = await self._check_config_address(account, kind, raw)
        extra = dict(values)
        await self._check_address_values(account, extra)
        if extra.get("auto_creation_type", "default") == "webhook" and not extra.get("webhook_url"):
            raise TwilioError(20001, "AutoCreation.WebhookUrl is required with AutoCreation.Type=webhook")
        now = self._clock.now()
        item = AddressConfig(
            sid=new_sid(SidPrefix.ADDRESS_CONFIGURATION), account_sid=account.sid, type=kind, address=address,
            friendly_name=extra.get("friendly_name"), auto_creation_enabled=extra.get("auto_creation_enabled", False),
            auto_creation_type=extra.get("auto_creation_type") or "default",
            conversation_service_sid=extra.get("conversation_service_sid"), webhook_url=extra.get("webhook_url"),
            webhook_method=extra.get("webhook_method") or "POST", webhook_filters=extra.get("webhook_filters", "[]"),
            address_country=country, date_created=now, date_updated=now)
        try:
            async with self._db.transaction() as conn:
                if await self._repos.addresses.by_address(conn, kind, address) is not None:
                    raise TwilioError(20001, f"An address configuration for {address} already exists")
                return await self._repos.addresses.insert(conn, item)
        except IntegrityError:
            raise TwilioError(20001, f"An address configuration for {address} already exists") from None

    async def _check_config_address(self, account: Account, kind: str, raw: str) -> tuple[str, str]:
        """The canonical address of a configuration (E.164 for sms, ``whatsapp:+…`` etc.) and its country."""
        if kind == "sms":
            parsed = parse_e164(raw)
            if parsed is None:
                raise TwilioError(21421, f"Address {raw} is not a valid phone number")
            async with self._db.read() as conn:
                number = await self._numbers.by_number(conn, parsed.e164)
            if number is None or number.account_sid != account.sid:
                raise TwilioError(21606, f"Address {parsed.e164} is not a phone number of this account")
            return parsed.e164, parsed.iso_country
        address = parse_address(raw if ":" in raw else f"{kind}:{raw}")
        if address is None or address.channel.value != kind:
            raise TwilioError(21421, f"Address {raw} is not a valid {kind} sender address")
        if address.channel is Channel.WHATSAPP:
            async with self._db.read() as conn:
                number = await self._numbers.by_number(conn, address.id)
            if number is None or number.account_sid != account.sid:
                raise TwilioError(21606, f"Address {raw}: {address.id} is not a phone number of this account")
            parsed = parse_e164(address.id)
            return str(address), parsed.iso_country if parsed else ""
        if not self._channels.may_send(account.sid, address):
            raise TwilioError(63007, f"Address {raw} is not a {kind} sender of this account")
        return str(address), ""

    async def update_address(self, account: Account, sid: str, values: Mapping[str, Any]) -> AddressConfig:
        item = await self.address(account, sid)
        changes = {k: v for k, v in values.items() if k not in ("type", "address")}
        await self._check_address_values(account, changes)
        merged = dataclasses.replace(item, **changes)
        if merged.auto_creation_type == "webhook" and not merged.webhook_url:
            raise TwilioError(20001, "AutoCreation.WebhookUrl is required with AutoCreation.Type=webhook")
        async with self._db.transaction() as conn:
            updated = await self._repos.addresses.update(conn, item.sid, {**changes, "date_updated": self._clock.now()})
        return updated or item

    async def delete_address(self, account: Account, sid: str) -> None:
        item = await self.address(account, sid)
        async with self._db.transaction() as conn:
            await self._repos.addresses.delete(conn, item.sid)

    async def list_addresses(self, account: Account, size: int, cursor: Cursor,
                             kind: str | None) -> Page[AddressConfig]:
        async with self._db.read() as conn:
            return await self._repos.addresses.page_for(conn, account.sid, size, cursor, kind)


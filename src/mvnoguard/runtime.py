"""The running application's parts, built once from :class:`Settings` and handed to services.

One ``Runtime`` per process (CLI invocation or API server): the home folder, the OLTP store
(migrated on first use), the vault and the policy. Nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from mvnoguard.config import Settings
from mvnoguard.domain.policy import Policy
from mvnoguard.identity.key_ring import VAULT_LOCK_FILE, KeyLease
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.policy import load_policy
from mvnoguard.registry.lifecycle import Lifecycle
from mvnoguard.registry.registration import RegistrationService
from mvnoguard.storage.database import Database, open_database


@dataclass
class Runtime:
    settings: Settings

    def __post_init__(self) -> None:
        self.settings.ensure_home()

    @cached_property
    def database(self) -> Database:
        # The key ring is opened only if a migration has personal data to seal or open.
        return open_database(self.settings.resolved_database_url, vault=lambda: self.vault)

    @cached_property
    def key_lease(self) -> KeyLease:
        """Held from before the key ring is read until the process closes its runtime."""
        return KeyLease(self.settings.keys_dir / VAULT_LOCK_FILE)

    @cached_property
    def vault(self) -> PiiVault:
        self.key_lease  # noqa: B018 - taken first: no rotation retires the ring under us
        return PiiVault(KeyRing.from_settings(self.settings))

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.settings.policy_file)

    @cached_property
    def registration(self) -> RegistrationService:
        return RegistrationService(self.vault, self.policy)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.policy)

    def close(self) -> None:
        if "database" in self.__dict__:
            self.database.dispose()
        if "key_lease" in self.__dict__:
            self.key_lease.release()

"""WinRM connection settings of a Windows host, and the rule that they are safe.

Safe by default: HTTPS (5986) with the server certificate validated, NTLM or Kerberos, and
message encryption never turned off. Anything weaker (HTTP, certificate not validated, Basic
authentication, ``ansible_winrm_message_encryption: never``) is refused unless the host sets
``esms_winrm_weaker_connection_reason`` to a sentence saying why (e.g. a lab on an isolated
network); every run then says so loudly.

Passwords never appear in the inventory in clear: ``ansible_password`` is an Ansible Vault
value or ``{{ lookup('ansible.builtin.env', 'NAME') }}``; the check (which does not go
through Ansible) reads that environment variable itself, or uses Kerberos.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from esms_baseline.errors import EsmsError

OPT_IN_VAR = "esms_winrm_weaker_connection_reason"
_ENV_LOOKUP = re.compile(
    r"""^\{\{\s*lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)"""
    r"""\s*\}\}$"""
)


class WinRMConfigError(EsmsError):
    """The connection settings of a Windows host are unsafe or incomplete."""


@dataclass(frozen=True)
class WinRMSettings:
    host: str
    port: int
    scheme: str
    transport: str
    user: str | None
    password: str | None = field(default=None, repr=False)
    server_cert_validation: str = "validate"
    ca_trust_path: str | None = None
    message_encryption: str = "auto"
    read_timeout_sec: int = 130
    operation_timeout_sec: int = 120
    weaker_reason: str | None = None

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/wsman"


def weaknesses(hostvars: Mapping[str, Any]) -> list[str]:
    """What is weaker than the safe default in these connection variables (empty = safe)."""
    scheme = str(hostvars.get("ansible_winrm_scheme") or
                 ("http" if int(hostvars.get("ansible_port") or 5986) == 5985 else "https"))
    transport = str(hostvars.get("ansible_winrm_transport") or "ntlm").lower()
    validation = str(hostvars.get("ansible_winrm_server_cert_validation") or "validate").lower()
    encryption = str(hostvars.get("ansible_winrm_message_encryption") or "auto").lower()
    if str(hostvars.get("ansible_connection") or "").rsplit(".", 1)[-1] == "psrp":
        # the psrp connection reads its own variables and ignores the ansible_winrm_* ones
        # (ansible-core plugins/connection/psrp.py: protocol, auth, cert_validation,
        # message_encryption; port: ansible_psrp_port wins over ansible_port)
        port = int(hostvars.get("ansible_psrp_port") or hostvars.get("ansible_port") or 5986)
        scheme = str(hostvars.get("ansible_psrp_protocol") or
                     ("http" if port == 5985 else "https"))
        auth = str(hostvars.get("ansible_psrp_auth") or "negotiate").lower()
        transport = "ntlm" if auth == "negotiate" else auth  # negotiate: Kerberos, else NTLM
        validation = str(hostvars.get("ansible_psrp_cert_validation") or "validate").lower()
        encryption = str(hostvars.get("ansible_psrp_message_encryption") or "auto").lower()
    out = []
    if scheme != "https":
        out.append(f"scheme {scheme} (not HTTPS)")
    if scheme == "https" and validation != "validate":
        out.append(f"server certificate not validated ({validation})")
    if transport not in ("ntlm", "kerberos"):
        out.append(f"transport {transport} (not NTLM or Kerberos)")
    if encryption == "never":
        out.append("message encryption turned off")
    if scheme == "http" and transport not in ("ntlm", "kerberos", "credssp"):
        out.append("HTTP without message encryption: credentials and data in clear")
    return out


def connection_problems(name: str, hostvars: Mapping[str, Any]) -> list[str]:
    """Refusals for the plan: weaknesses without the explicit opt-in, passwords in clear."""
    problems = []
    weak = weaknesses(hostvars)
    reason = str(hostvars.get(OPT_IN_VAR) or "").strip()
    if weak and len(reason) < 10:
        problems.append(
            f"{name}: WinRM connection weaker than HTTPS + validated certificate + NTLM/Kerberos "
            f"({'; '.join(weak)}); set {OPT_IN_VAR} to a sentence saying why, or fix it")
    pw = hostvars.get("ansible_password")
    if isinstance(pw, str) and pw and "{{" not in pw:
        problems.append(f"{name}: ansible_password is written in clear: use Ansible Vault or "
                        "{{ lookup('ansible.builtin.env', 'NAME') }}")
    return problems


def password_env_var(value: Any) -> str | None:
    """NAME in ``{{ lookup('ansible.builtin.env', 'NAME') }}``, else None."""
    if not isinstance(value, str):
        return None
    m = _ENV_LOOKUP.match(value.strip())
    return m.group(1) if m else None


def settings_from_hostvars(name: str, hostvars: Mapping[str, Any],
                           environ: Mapping[str, str]) -> WinRMSettings:
    """The WinRM settings of ``name`` from its Ansible variables (as ``ansible-inventory``
    prints them: templates not rendered, vault values not decrypted)."""
    problems = connection_problems(name, hostvars)
    if problems:
        raise WinRMConfigError("; ".join(problems))
    transport = str(hostvars.get("ansible_winrm_transport") or "ntlm").lower()
    port = int(hostvars.get("ansible_port") or 5986)
    scheme = str(hostvars.get("ansible_winrm_scheme") or ("http" if port == 5985 else "https"))
    user = hostvars.get("ansible_user") or hostvars.get("ansible_winrm_user")
    password: str | None = None
    raw = hostvars.get("ansible_password", hostvars.get("ansible_winrm_password"))
    env_name = password_env_var(raw)
    if env_name:
        password = environ.get(env_name)
        if not password:
            raise WinRMConfigError(f"{name}: environment variable {env_name} (ansible_password) "
                                   "is not set")
    elif raw is not None and transport != "kerberos":
        raise WinRMConfigError(
            f"{name}: the check cannot read this ansible_password (vault or template): use "
            "{{ lookup('ansible.builtin.env', 'NAME') }} or Kerberos")
    if transport != "kerberos" and not (user and password):
        raise WinRMConfigError(f"{name}: ansible_user and ansible_password are needed for "
                               f"{transport}")
    return WinRMSettings(
        host=str(hostvars.get("ansible_host") or name),
        port=port,
        scheme=scheme,
        transport=transport,
        user=str(user) if user else None,
        password=password,
        server_cert_validation=str(hostvars.get("ansible_winrm_server_cert_validation")
                                   or "validate"),
        ca_trust_path=hostvars.get("ansible_winrm_ca_trust_path"),
        message_encryption=str(hostvars.get("ansible_winrm_message_encryption") or "auto"),
        weaker_reason=str(hostvars.get(OPT_IN_VAR) or "") or None,
    )

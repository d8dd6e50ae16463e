"""Providers' access on Windows (ESMS-PRV-01..03): the data the Windows rules and tasks share.

- :data:`REMOTE_TOOLS`: remote-control software as Windows shows it. Tool names are the
  profile's (``providers[].tools``, the schema's enum, the Debian table
  ``conformance/collectors/debian_sector.py``); each has regular expressions (case-insensitive,
  anchored at the start) for the DisplayName of its Uninstall registry entry and for its
  service name or display name, and the TCP ports it listens on. Sources, one per tool, are
  in ``docs/sector.md`` ("ESMS-PRV-02 on Windows"). UltraVNC has no name of its own in the
  profile: it is reported as the generic ``vnc`` tool (any declared VNC tool covers it).
- :data:`AUDIT_SUBCATEGORIES`: the advanced audit subcategories ESMS-PRV-03 sets, by GUID
  (locale-independent; names are translated on a French Windows). GUIDs from [MS-GPAC]
  2.2.1.2 "Subcategory and SubcategoryGUID":
  https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-gpac/77878370-0712-47cd-997d-b07053429f6d
- :func:`match_remote_tools`: the tools seen in the collector's ``providers`` section.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: tool -> {"programs": DisplayName regexes, "services": service name/display name regexes,
#: "ports": listening TCP ports}. Regexes are matched with re.match (start), IGNORECASE.
REMOTE_TOOLS: dict[str, dict[str, list[Any]]] = {
    # TeamViewer: service "TeamViewer" (older majors "TeamViewer15"...: UNVERIFIED, installer
    # knowledge). 5938 is the port TeamViewer CONNECTS OUT to; its KB says no inbound port is
    # needed (https://www.teamviewer.com/en/global/support/knowledge-base/teamviewer-classic/
    # troubleshooting/ports-used-by-teamviewer): a listener on 5938 (incoming LAN connections)
    # is extra evidence only, the program and service are what find it.
    "teamviewer": {"programs": [r"TeamViewer"], "services": [r"TeamViewer"], "ports": [5938]},
    # AnyDesk: service "AnyDesk" (MSI: "AnyDeskMSI"), direct connections on 7070 (UNVERIFIED
    # against an AnyDesk document: installer knowledge; found by program and service first)
    "anydesk": {"programs": [r"AnyDesk"], "services": [r"AnyDesk"], "ports": [7070]},
    # RustDesk: service "RustDesk" (UNVERIFIED). 21118: the client's direct IP access listener,
    # off by default (rustdesk/rustdesk source, get_direct_port: RENDEZVOUS_PORT + 2
    # = 21118, only with the direct-server option); 21119: the RustDesk SERVER's relay
    # websocket (hbbr, doc.rustdesk.com self-host install), i.e. RustDesk server software
    "rustdesk": {"programs": [r"RustDesk"], "services": [r"RustDesk"], "ports": [21118, 21119]},
    # TigerVNC server for Windows: service "TigerVNC" (TigerVNC win/winvnc/VNCServerService.cxx
    # VNCServerService::Name); its older builds and RealVNC 4 used "WinVNC4" (generic vnc below)
    "tigervnc": {"programs": [r"TigerVNC"], "services": [r"TigerVNC"], "ports": []},
    # TightVNC: service tvnserver ("TightVNC Server") (UNVERIFIED against GlavSoft's docs:
    # common admin scripts `net stop tvnserver`)
    "tightvnc": {"programs": [r"TightVNC"], "services": [r"tvnserver$", r"TightVNC"], "ports": []},
    # RealVNC: "VNC Server 7.x" / "RealVNC Server", service vncserver ("VNC Server")
    # (UNVERIFIED against RealVNC's docs)
    "realvnc": {"programs": [r"RealVNC", r"VNC Server\b"], "services": [r"vncserver$", r"RealVNC"],
                "ports": []},
    # any VNC listener (RFB 5900+display), UltraVNC (service uvnc_service, UNVERIFIED against
    # uvnc's docs: common admin scripts), WinVNC4 (RealVNC 4, older TigerVNC: TigerVNC source)
    # and WinVNC (RealVNC 3 / UltraVNC 1.0 application mode: UNVERIFIED)
    "vnc": {"programs": [r"UltraVNC"], "services": [r"uvnc_service$", r"UltraVNC", r"winvnc4?$"],
            "ports": list(range(5900, 5911))},
    # ScreenConnect / ConnectWise Control: "ScreenConnect Client (<thumbprint>)" (UNVERIFIED)
    "screenconnect": {"programs": [r"ScreenConnect", r"ConnectWise Control"],
                      "services": [r"ScreenConnect", r"ConnectWise Control"], "ports": []},
    # Splashtop Streamer: service SplashtopRemoteService (UNVERIFIED: installer knowledge)
    "splashtop": {"programs": [r"Splashtop"], "services": [r"Splashtop"], "ports": []},
    # Chrome Remote Desktop Host: service "chromoting" (Chromium remoting/host: Windows
    # kWindowsServiceName = L"chromoting")
    "chrome-remote-desktop": {"programs": [r"Chrome Remote Desktop"],
                              "services": [r"chromoting$", r"Chrome Remote Desktop"], "ports": []},
    # MeshCentral agent: service "Mesh Agent", display "Mesh Agent background service"
    # (Ylianst/MeshAgent meshservice/ServiceMain.c serviceFile / serviceName)
    "meshcentral-agent": {"programs": [r"Mesh Agent"], "services": [r"Mesh Agent"], "ports": []},
    # NoMachine: service nxservice (UNVERIFIED); its port 4000 is too common to be evidence alone
    "nomachine": {"programs": [r"NoMachine"], "services": [r"nxservice$", r"NoMachine"],
                  "ports": []},
}

#: ESMS-PRV-03: subcategory name -> GUID ([MS-GPAC] 2.2.1.2). Logon: events 4624/4625
#: (https://learn.microsoft.com/windows/security/threat-protection/auditing/audit-logon);
#: Special Logon: 4672 admin-equivalent logons
#: (https://learn.microsoft.com/windows/security/threat-protection/auditing/audit-special-logon).
AUDIT_SUBCATEGORIES: dict[str, str] = {
    "Logon": "{0CCE9215-69AE-11D9-BED3-505054503030}",
    "Special Logon": "{0CCE921B-69AE-11D9-BED3-505054503030}",
}
#: [MS-GPAC] 2.2.1.3.1 SettingValue: 1 success, 2 failure, 3 success and failure, 0/4 none
#: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-gpac/21ad2e80-3011-48ef-be13-cc11ff7bfeb1
AUDIT_SUCCESS_AND_FAILURE = 3
AUDIT_SETTING_TEXT = {0: "no auditing", 1: "success", 2: "failure", 3: "success and failure",
                      4: "no auditing"}


def _any(patterns: list[str], names: list[str]) -> list[str]:
    return sorted({n for n in names for p in patterns if re.match(p, n, re.IGNORECASE)})


def match_remote_tools(section: Mapping[str, Any], listening: list[Mapping[str, Any]]
                       ) -> dict[str, dict[str, list[Any]]]:
    """tool -> how it was seen (programs, services, ports), for each tool seen at all.

    ``section`` is the collector's ``providers`` section (``programs``: Uninstall
    DisplayNames, ``services``: {name, display_name}); ``listening``: its ``listening``
    section (TCP listeners, any address: loopback too)."""
    programs = [str(p) for p in section.get("programs") or [] if p]
    services = [s for s in section.get("services") or [] if isinstance(s, Mapping)]
    ports = {int(s["port"]) for s in listening
             if str(s.get("protocol", "tcp")).lower() == "tcp" and s.get("port") is not None}
    found: dict[str, dict[str, list[Any]]] = {}
    for tool, spec in REMOTE_TOOLS.items():
        svc = sorted({str(s.get("name")) for s in services
                      if _any(spec["services"], [str(s.get("name") or ""),
                                                 str(s.get("display_name") or "")])})
        hit: dict[str, list[Any]] = {"programs": _any(spec["programs"], programs),
                                     "services": svc,
                                     "ports": sorted(ports & set(spec["ports"]))}
        if any(hit.values()):
            found[tool] = hit
    return found

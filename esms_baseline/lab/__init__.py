"""Throwaway Debian lab hosts: systemd-nspawn containers over overlayfs, reached with real
SSH through nsenter into each host's own network namespace. See docs/lab.md."""

from esms_baseline.lab.core import down, nsenter_run, status, up
from esms_baseline.lab.model import MANAGEMENT_USER, Lab, LabHost

__all__ = ["MANAGEMENT_USER", "Lab", "LabHost", "down", "nsenter_run", "status", "up"]

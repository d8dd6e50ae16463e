# esms-baseline ESMS-BAK-01: daily off-site backup of this Windows host with restic.
# Installed by the esms_backup role; run by the scheduled task \esms-baseline\ESMS backup as
# SYSTEM. Do not edit: the next apply replaces it.
#
# restic reads the files from a Volume Shadow Copy (--use-fs-snapshot: consistent copies of
# files in use; needs administrator rights, hence SYSTEM):
#   https://restic.readthedocs.io/en/stable/040_backup.html#reading-data-from-a-windows-volume-shadow-copy
# then forgets old snapshots with the profile's retention (restic forget --prune):
#   https://restic.readthedocs.io/en/stable/060_forget.html
# Exit codes (0 success, 3 some source files unreadable, other: failure):
#   https://restic.readthedocs.io/en/stable/075_scripting.html#exit-codes
# The repository password is read from restic.pass (RESTIC_PASSWORD_FILE), never passed as
# an argument. The outcome is written to last-run.json, read by the conformance check.
$ErrorActionPreference = 'Stop'
$dir = Split-Path -Parent $MyInvocation.MyCommand.Path
$cfg = Get-Content -LiteralPath (Join-Path $dir 'backup.json') -Raw | ConvertFrom-Json
$env:RESTIC_REPOSITORY = [string]$cfg.repository
$env:RESTIC_PASSWORD_FILE = Join-Path $dir 'restic.pass'
$env:RESTIC_CACHE_DIR = Join-Path $dir 'cache'
$common = @()
if ($cfg.sftp_command) { $common += @('-o', ('sftp.command=' + [string]$cfg.sftp_command)) }
$started = (Get-Date).ToUniversalTime().ToString('o')
& $cfg.restic @common backup --use-fs-snapshot --files-from (Join-Path $dir 'backup-paths.txt') `
    --host $cfg.host --tag esms-baseline
$backupExit = $LASTEXITCODE
$forgetExit = $null
$keep = @()
foreach ($k in 'daily', 'weekly', 'monthly') {
    if ([int]$cfg."keep_$k" -gt 0) { $keep += @("--keep-$k", [string]$cfg."keep_$k") }
}
if (($backupExit -eq 0 -or $backupExit -eq 3) -and $keep.Count -gt 0) {
    & $cfg.restic @common forget --prune --host $cfg.host --tag esms-baseline @keep
    $forgetExit = $LASTEXITCODE
}
[ordered]@{ started = $started; finished = (Get-Date).ToUniversalTime().ToString('o')
            backup_exit = $backupExit; forget_exit = $forgetExit } |
    ConvertTo-Json | Set-Content -LiteralPath (Join-Path $dir 'last-run.json') -Encoding UTF8
exit $backupExit

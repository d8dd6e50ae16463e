# Fact collector for Windows hosts: run ONCE per host over WinRM, as an administrator, by
# Windows PowerShell 5.1 (or PowerShell 7). Prints ONE JSON document (ASCII only: every
# non-ASCII character is escaped, so the console code page cannot garble it).
#
# It only reads. The only things it writes are temporary: the file secedit needs for its
# export (%TEMP%\esms-secedit-<guid>.inf) and the backup canary restored for the test restore
# (%TEMP%\esms-restore-<guid>), both removed at once (secedit itself appends to its own log
# %windir%\security\logs\scesrv.log). No setting is changed.
#
# Outputs Windows formats as they are (secedit INF as base64 of its UTF-16 LE bytes, the
# ADSI account policy numbers, the JSON of Get-NetFirewallProfile and Get-MpComputerStatus):
# esms_baseline/windows/parse.py parses them, unit-tested on samples of those formats.
#
# Secrets never leave the host: for accounts only flags and ages are read (never a hash);
# registry values are read by name from the list below, never whole keys (Winlogon may
# hold an autologon password).
#
# Each section is collected on its own; a section that fails is reported under `errors`.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$started = Get-Date

# Registry values read (path, name). Every value of esms_baseline.windows.desired must be
# here (tests/unit/test_windows_desired.py checks it).
$RegistryValues = @(
    @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', 'InactivityTimeoutSecs'),
    @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', 'LegalNoticeCaption'),
    @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', 'LegalNoticeText'),
    @('HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon', 'ScreenSaverGracePeriod'),
    @('HKLM:\SYSTEM\CurrentControlSet\Control\SAM', 'RelaxMinimumPasswordLengthLimits'),
    @('HKLM:\SYSTEM\CurrentControlSet\Control\Lsa', 'LimitBlankPasswordUse'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate', 'ExcludeWUDriversInQualityUpdate'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'NoAutoUpdate'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'AUOptions'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'ScheduledInstallDay'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'ScheduledInstallTime'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'ScheduledInstallEveryWeek'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'NoAutoRebootWithLoggedOnUsers'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'AlwaysAutoRebootAtScheduledTime'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU', 'AlwaysAutoRebootAtScheduledTimeMinutes'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender', 'DisableAntiSpyware'),
    @('HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection', 'DisableRealtimeMonitoring')
)

# User-scope policy values (secure screen saver, ADMX_ControlPanelDisplay: scope User), read
# under Software\Policies\Microsoft\Windows\Control Panel\Desktop of HKU\.DEFAULT and of
# every loaded user hive (HKU\S-1-5-21-...); profiles not loaded are counted, not read.
$UserPolicyValues = @('ScreenSaveActive', 'ScreenSaverIsSecure', 'ScreenSaveTimeOut')

$facts = [ordered]@{ platform = 'windows'; schema = 1 }
$errors = [ordered]@{}

function Invoke-Section([string]$Name, [scriptblock]$Block) {
    try {
        $facts[$Name] = & $Block
    } catch {
        $errors[$Name] = $_.Exception.Message
    }
}

# Windows PowerShell 5.1 turns each stderr line of a redirected native command into an error
# record that $ErrorActionPreference = 'Stop' makes terminating (PowerShell issue 3996; 7.2
# stopped it, PR 13361): native calls run here in a scope with 'Continue', stdout and stderr
# apart (restic's --json is on stdout; ssh's warnings come on stderr).
function Invoke-Native([string]$Exe, [object[]]$Arguments) {
    $ErrorActionPreference = 'Continue'
    $all = @(& $Exe @Arguments 2>&1)
    [pscustomobject]@{ code = $LASTEXITCODE
        out = @($all | Where-Object { $_ -isnot [Management.Automation.ErrorRecord] }) -join "`n"
        err = @($all | Where-Object { $_ -is [Management.Automation.ErrorRecord] } | ForEach-Object { $_.Exception.Message }) -join "`n" }
}

function ConvertTo-IsoDate($Value) {
    if ($null -eq $Value) { return $null }
    return ([datetime]$Value).ToUniversalTime().ToString('o')
}

Invoke-Section 'os' {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem
    $me = [Security.Principal.WindowsIdentity]::GetCurrent()
    [ordered]@{
        caption = [string]$os.Caption
        version = [string]$os.Version
        build = [int]$os.BuildNumber
        product_type = [int]$os.ProductType
        computer_name = [string]$env:COMPUTERNAME
        part_of_domain = [bool]$cs.PartOfDomain
        domain = [string]$cs.Domain
        domain_role = [int]$cs.DomainRole
        ps_version = [string]$PSVersionTable.PSVersion
        connection_user = [string]$me.Name
        connection_sid = [string]$me.User.Value
    }
}

# /mergedpolicy: the effective policy, domain and local merged (Microsoft Learn, secedit /export).
Invoke-Section 'secedit_inf_b64' {
    $tmp = Join-Path $env:TEMP ('esms-secedit-' + [guid]::NewGuid().ToString('N') + '.inf')
    try {
        $null = & secedit.exe /export /mergedpolicy /cfg $tmp /areas SECURITYPOLICY /quiet
        if ($LASTEXITCODE -ne 0) { throw "secedit /export exited $LASTEXITCODE" }
        [Convert]::ToBase64String([IO.File]::ReadAllBytes($tmp))
    } finally {
        Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
    }
}

# Account policy as numbers (IADsDomain properties of the WinNT provider), not `net accounts`,
# whose labels and layout depend on the display language.
Invoke-Section 'adsi_policy' {
    $d = [ADSI]"WinNT://$env:COMPUTERNAME"
    $out = [ordered]@{}
    foreach ($n in 'MinPasswordLength', 'PasswordHistoryLength', 'MaxPasswordAge', 'MinPasswordAge',
                   'MaxBadPasswordsAllowed', 'AutoUnlockInterval', 'LockoutObservationInterval') {
        $out[$n] = [long]$d.$n.Value
    }
    $out
}

Invoke-Section 'user_policies' {
    $hives = @(Get-ChildItem -LiteralPath 'Registry::HKEY_USERS' | Where-Object {
        $_.PSChildName -eq '.DEFAULT' -or $_.PSChildName -match '^S-1-5-21-[0-9-]+$' })
    $values = foreach ($h in $hives) {
        $key = Get-Item -LiteralPath ($h.PSPath + '\Software\Policies\Microsoft\Windows\Control Panel\Desktop') -ErrorAction SilentlyContinue
        foreach ($n in $UserPolicyValues) {
            $item = [ordered]@{ hive = $h.PSChildName; name = $n; exists = $false; type = $null; data = $null }
            if ($null -ne $key -and ($key.GetValueNames() -contains $n)) {
                $item.exists = $true; $item.type = [string]$key.GetValueKind($n); $item.data = [string]$key.GetValue($n)
            }
            $item
        }
    }
    $profiles = @(Get-CimInstance -ClassName Win32_UserProfile | Where-Object { -not $_.Special -and -not $_.Loaded })
    [ordered]@{ values = @($values); profiles_not_loaded = $profiles.Count }
}

Invoke-Section 'registry' {
    $values = foreach ($rv in $RegistryValues) {
        $item = [ordered]@{ path = $rv[0]; name = $rv[1]; exists = $false; type = $null; data = $null }
        $key = Get-Item -LiteralPath $rv[0] -ErrorAction SilentlyContinue
        if ($null -ne $key -and ($key.GetValueNames() -contains $rv[1])) {
            $item.exists = $true
            $item.type = [string]$key.GetValueKind($rv[1])
            $item.data = $key.GetValue($rv[1], $null, 'DoNotExpandEnvironmentNames')
        }
        $item
    }
    , @($values)
}

Invoke-Section 'firewall_profiles_json' {
    Get-NetFirewallProfile -PolicyStore ActiveStore |
        Select-Object Name, Enabled, DefaultInboundAction, DefaultOutboundAction |
        ConvertTo-Json -Depth 2
}

Invoke-Section 'firewall_rules' {
    # Filters fetched once each and joined on InstanceID: one query per filter type instead
    # of one per rule (hundreds of rules on a workstation).
    $store = 'ActiveStore'
    $rules = @(Get-NetFirewallRule -PolicyStore $store -Direction Inbound -Enabled True -Action Allow)
    $ports = @{}; Get-NetFirewallPortFilter -PolicyStore $store | ForEach-Object { $ports[$_.InstanceID] = $_ }
    $addrs = @{}; Get-NetFirewallAddressFilter -PolicyStore $store | ForEach-Object { $addrs[$_.InstanceID] = $_ }
    $apps = @{}; Get-NetFirewallApplicationFilter -PolicyStore $store | ForEach-Object { $apps[$_.InstanceID] = $_ }
    $out = foreach ($r in $rules) {
        $p = $ports[$r.InstanceID]; $a = $addrs[$r.InstanceID]; $app = $apps[$r.InstanceID]
        $program = if ($app -and $app.Program -and $app.Program -ne 'Any') {
            [Environment]::ExpandEnvironmentVariables([string]$app.Program) } else { $null }
        [ordered]@{
            name = [string]$r.Name
            display_name = [string]$r.DisplayName
            group = [string]$r.Group
            profile = [string]$r.Profile
            protocol = if ($p) { [string]$p.Protocol } else { 'Any' }
            local_port = if ($p) { @($p.LocalPort | ForEach-Object { [string]$_ }) } else { @('Any') }
            remote_address = if ($a) { @($a.RemoteAddress | ForEach-Object { [string]$_ }) } else { @('Any') }
            program = $program
        }
    }
    , @($out)
}

Invoke-Section 'listening' {
    $paths = @{}
    Get-Process | ForEach-Object { try { $paths[$_.Id] = $_.Path } catch { $paths[$_.Id] = $null } }
    $tcp = Get-NetTCPConnection -State Listen -ErrorAction SilentlyContinue | ForEach-Object {
        [ordered]@{ protocol = 'tcp'; address = [string]$_.LocalAddress; port = [int]$_.LocalPort
                    process = $paths[[int]$_.OwningProcess] }
    }
    $udp = Get-NetUDPEndpoint -ErrorAction SilentlyContinue | ForEach-Object {
        [ordered]@{ protocol = 'udp'; address = [string]$_.LocalAddress; port = [int]$_.LocalPort
                    process = $paths[[int]$_.OwningProcess] }
    }
    , @(@($tcp) + @($udp))
}

Invoke-Section 'local_users' {
    $computer = [ADSI]"WinNT://$env:COMPUTERNAME,computer"
    $out = foreach ($u in @($computer.Children | Where-Object { $_.SchemaClassName -eq 'User' })) {
        $flags = [int]$u.UserFlags.Value
        [ordered]@{
            name = [string]$u.Name.Value
            sid = (New-Object Security.Principal.SecurityIdentifier($u.objectSid.Value, 0)).Value
            full_name = [string]$u.FullName.Value
            disabled = [bool]($flags -band 0x2)
            password_not_required = [bool]($flags -band 0x20)
            password_never_expires = [bool]($flags -band 0x10000)
            password_expired = ([int]$u.PasswordExpired.Value -eq 1)
            password_age_days = [math]::Floor([double]$u.PasswordAge.Value / 86400)
        }
    }
    , @($out)
}

Invoke-Section 'local_groups' {
    $computer = [ADSI]"WinNT://$env:COMPUTERNAME,computer"
    $out = foreach ($g in @($computer.Children | Where-Object { $_.SchemaClassName -eq 'Group' })) {
        $members = foreach ($m in @($g.Invoke('Members'))) {
            $path = [string]$m.GetType().InvokeMember('AdsPath', 'GetProperty', $null, $m, $null)
            $sid = $null
            try {
                $bytes = $m.GetType().InvokeMember('objectSid', 'GetProperty', $null, $m, $null)
                $sid = (New-Object Security.Principal.SecurityIdentifier($bytes, 0)).Value
            } catch { $sid = $null }
            # WinNT://DOMAIN/name -> DOMAIN\name; WinNT://WORKGROUP/COMPUTER/name -> COMPUTER\name
            $parts = $path -replace '^WinNT://', '' -split '/'
            [ordered]@{ name = ($parts[-2] + '\' + $parts[-1]); sid = $sid }
        }
        [ordered]@{
            name = [string]$g.Name.Value
            sid = (New-Object Security.Principal.SecurityIdentifier($g.objectSid.Value, 0)).Value
            members = @($members)
        }
    }
    , @($out)
}

Invoke-Section 'defender_json' {
    Get-MpComputerStatus | Select-Object AMServiceEnabled, AntivirusEnabled,
        RealTimeProtectionEnabled, OnAccessProtectionEnabled, AntivirusSignatureLastUpdated,
        AntivirusSignatureAge, AntivirusSignatureVersion, AMRunningMode, IsTamperProtected |
        ConvertTo-Json -Depth 2
}

Invoke-Section 'defender_preferences' {
    $p = Get-MpPreference
    [ordered]@{ DisableRealtimeMonitoring = [bool]$p.DisableRealtimeMonitoring }
}

Invoke-Section 'updates' {
    $svc = Get-Service -Name wuauserv
    $last = $null
    try {
        $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
        $count = $searcher.GetTotalHistoryCount()
        if ($count -gt 0) {
            # Operation 1 = installation; ResultCode 2 = succeeded, 3 = succeeded with errors
            $last = @($searcher.QueryHistory(0, [math]::Min($count, 200)) |
                Where-Object { $_.Operation -eq 1 -and ($_.ResultCode -eq 2 -or $_.ResultCode -eq 3) } |
                Sort-Object Date -Descending | Select-Object -First 1)
        }
    } catch { $last = $null }
    $hotfix = @(Get-HotFix -ErrorAction SilentlyContinue | Where-Object { $_.InstalledOn } |
        Sort-Object InstalledOn -Descending | Select-Object -First 1)
    [ordered]@{
        wuauserv_start_type = [string]$svc.StartType
        last_installed = if ($last) { [ordered]@{ date = ConvertTo-IsoDate $last[0].Date; title = [string]$last[0].Title } } else { $null }
        last_hotfix = if ($hotfix) { [ordered]@{ id = [string]$hotfix[0].HotFixID; installed_on = ConvertTo-IsoDate $hotfix[0].InstalledOn } } else { $null }
    }
}

# Microsoft Learn references of what the backup section reads: Get-ScheduledTask /
# Get-ScheduledTaskInfo (ScheduledTasks module), Get-Acl, Get-FileHash (Microsoft.PowerShell.*):
# https://learn.microsoft.com/en-us/powershell/module/scheduledtasks/get-scheduledtask
# https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/get-acl
# https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.utility/get-filehash
# User profiles: Win32_UserProfile (SID, LocalPath, Loaded, Special)
# https://learn.microsoft.com/en-us/previous-versions/windows/desktop/legacy/ee886409(v=vs.85)
# ESMS-BAK-01/02: the backup the role configured (C:\ProgramData\esms-baseline\backup), the
# last snapshot of this host and a test restore of the canary into a temporary folder
# (removed at once). restic: snapshots --json, restore --include (restic documentation).
Invoke-Section 'backup' {
    $dir = 'C:\ProgramData\esms-baseline\backup'
    $b = [ordered]@{ configured = $false; now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() }
    $cfgPath = Join-Path $dir 'backup.json'
    if (-not (Test-Path -LiteralPath $cfgPath)) { return $b }
    $cfg = Get-Content -LiteralPath $cfgPath -Raw | ConvertFrom-Json
    $b.configured = $true
    $b.config = $cfg
    $b.paths = @(Get-Content -LiteralPath (Join-Path $dir 'backup-paths.txt') -ErrorAction SilentlyContinue)
    $pw = Get-Item -LiteralPath (Join-Path $dir 'restic.pass') -ErrorAction SilentlyContinue
    $b.password_file = [ordered]@{ exists = [bool]$pw; size = if ($pw) { $pw.Length } else { 0 }
        access = @(if ($pw) { (Get-Acl -LiteralPath $pw.FullName).Access | ForEach-Object {
            try { $_.IdentityReference.Translate([Security.Principal.SecurityIdentifier]).Value } catch { [string]$_.IdentityReference } } }) }
    $t = Get-ScheduledTask -TaskPath '\esms-baseline\' -TaskName 'ESMS backup' -ErrorAction SilentlyContinue
    if ($t) {
        $i = $t | Get-ScheduledTaskInfo
        $b.task = [ordered]@{ state = [string]$t.State; user = [string]$t.Principal.UserId
            starts = @($t.Triggers | ForEach-Object { [string]$_.StartBoundary })
            last_result = [long]$i.LastTaskResult; last_run = ConvertTo-IsoDate $i.LastRunTime }
    }
    $last = Join-Path $dir 'last-run.json'
    if (Test-Path -LiteralPath $last) { $b.last_run = Get-Content -LiteralPath $last -Raw | ConvertFrom-Json }
    $canary = Join-Path $dir 'backup-canary.txt'
    $b.canary = [ordered]@{ exists = (Test-Path -LiteralPath $canary)
        sha256 = if (Test-Path -LiteralPath $canary) { (Get-FileHash -LiteralPath $canary -Algorithm SHA256).Hash.ToLower() } else { $null } }
    $env:RESTIC_REPOSITORY = [string]$cfg.repository
    $env:RESTIC_PASSWORD_FILE = Join-Path $dir 'restic.pass'
    $common = @('--no-cache', '--no-lock')
    if ($cfg.sftp_command) { $common += @('-o', ('sftp.command=' + [string]$cfg.sftp_command)) }
    $r = Invoke-Native $cfg.restic ($common + @('snapshots', '--json', '--latest', '1', '--host', [string]$cfg.host, '--tag', 'esms-baseline'))
    if ($r.code -ne 0) { $b.snapshots = [ordered]@{ ok = $false; error = ($r.err -replace '\s+', ' ').Trim() }; return $b }
    # assigned first: 5.1's ConvertFrom-Json writes a JSON array as one object
    $all = $r.out | ConvertFrom-Json
    $latest = @($all) | Select-Object -Last 1
    $b.snapshots = [ordered]@{ ok = $true; latest = if ($latest) { [ordered]@{ time = [string]$latest.time; short_id = [string]$latest.short_id } } else { $null } }
    if (-not $latest) { return $b }
    $tmp = Join-Path $env:TEMP ('esms-restore-' + [guid]::NewGuid().ToString('N'))
    try {
        $inc = '/' + $canary.Substring(0, 1) + ($canary.Substring(2) -replace '\\', '/')
        $r = Invoke-Native $cfg.restic ($common + @('restore', [string]$latest.short_id, '--target', $tmp, '--include', $inc))
        $got = Get-ChildItem -LiteralPath $tmp -Recurse -File -Filter 'backup-canary.txt' -ErrorAction SilentlyContinue | Select-Object -First 1
        $b.restore = if ($r.code -eq 0 -and $got) { [ordered]@{ ok = $true; sha256 = (Get-FileHash -LiteralPath $got.FullName -Algorithm SHA256).Hash.ToLower() } }
                     else { [ordered]@{ ok = $false; error = (($r.err + ' ' + $r.out) -replace '\s+', ' ').Trim() } }
    } finally { Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue }
    $b
}

# ESMS-UPD-04: edition and release, read by name from the CurrentVersion key (documented
# values: EditionID "Professional", "Enterprise", "EnterpriseS"...; DisplayVersion "22H2";
# CurrentBuildNumber; UBR the update build revision).
# https://learn.microsoft.com/windows/release-health/release-information
Invoke-Section 'os_edition' {
    $cv = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    [ordered]@{
        edition_id = [string]$cv.EditionID
        display_version = [string]$cv.DisplayVersion
        current_build = [string]$cv.CurrentBuildNumber
        ubr = if ($null -ne $cv.UBR) { [int]$cv.UBR } else { $null }
        product_name = [string]$cv.ProductName
        installation_type = [string]$cv.InstallationType
    }
}

# ESMS-PRV-01..03 (esms_baseline/windows/providers.py, docs/sector.md). Local users'
# Enabled and AccountExpires (Get-LocalUser, local time; null = never):
# https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/get-localuser
# Installed programs: DisplayName of the Uninstall keys, 64- and 32-bit views
# (https://learn.microsoft.com/windows/win32/msi/uninstall-registry-key); services: Win32_Service
# Name, DisplayName (https://learn.microsoft.com/windows/win32/cimwin32prov/win32-service).
# Audit policy: auditpol /backup to a temporary CSV (removed at once), read by position
# ([MS-GPAC] 2.2.1: MachineName, PolicyTarget, Subcategory, SubcategoryGUID, Inclusion,
# Exclusion, SettingValue; the header and inclusion text are localised, GUID and value not):
# https://learn.microsoft.com/windows-server/administration/windows-commands/auditpol-backup
# The file is in the ANSI code page, no BOM (saltstack/salt PR 68935 decodes it with the system
# ANSI encoding for that reason); Import-Csv reads UTF-8 by default (5.1: new StreamReader(stream),
# PowerShell/PowerShell 60b3b304 PathUtils.OpenStreamReader): localised names may be garbled,
# the two columns used (GUID, value) are ASCII. (-Encoding Default is not used: ANSI in 5.1,
# but UTF-8 in PowerShell 7, where it is .NET's Encoding.Default: EncodingUtils.cs.)
# Security log: Get-WinEvent -ListLog (MaximumSizeInBytes, LogMode, FileSize, IsLogFull) and
# its oldest event (-Oldest): https://learn.microsoft.com/powershell/module/microsoft.powershell.diagnostics/get-winevent
# today: Gregorian whatever the host's culture ('yyyy' follows the culture's calendar: th-TH
# would give 2569), as the ESMS-PRV-01 task's (Get-Date).Date comparisons
# (https://learn.microsoft.com/dotnet/standard/base-types/custom-date-and-time-format-strings)
Invoke-Section 'providers' {
    $p = [ordered]@{ today = (Get-Date).ToString('yyyy-MM-dd', [Globalization.CultureInfo]::InvariantCulture) }
    # (no local accounts on a domain controller: users stays null, PRV-01 says it was not read)
    $p.users = $null
    try { $p.users = @(Get-LocalUser | ForEach-Object { [ordered]@{ name = [string]$_.Name; enabled = [bool]$_.Enabled
        expires = if ($_.AccountExpires) { ([datetime]$_.AccountExpires).ToString('s') } else { $null } } }) } catch { }
    $p.programs = @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName } | ForEach-Object { [string]$_.DisplayName } | Sort-Object -Unique)
    $p.services = @(Get-CimInstance -ClassName Win32_Service | ForEach-Object { [ordered]@{ name = [string]$_.Name; display_name = [string]$_.DisplayName } })
    $tmp = Join-Path $env:TEMP ('esms-auditpol-' + [guid]::NewGuid().ToString('N') + '.csv')
    try {
        $r = Invoke-Native 'auditpol.exe' @('/backup', ('/file:' + $tmp))
        if ($r.code -ne 0) { throw "auditpol /backup exited $($r.code)" }
        $p.audit = @(Import-Csv -LiteralPath $tmp -Header m, t, s, g, i, e, v | Where-Object { $_.g -like '{*}' } |
            ForEach-Object { [ordered]@{ guid = [string]$_.g; value = [string]$_.v } })
    } finally { Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue }
    $log = Get-WinEvent -ListLog Security
    $old = Get-WinEvent -LogName Security -Oldest -MaxEvents 1 -ErrorAction SilentlyContinue
    $p.security_log = [ordered]@{ max_bytes = [long]$log.MaximumSizeInBytes; mode = [string]$log.LogMode
        file_bytes = [long]$log.FileSize; full = [bool]$log.IsLogFull; oldest = if ($old) { ConvertTo-IsoDate $old.TimeCreated } else { $null } }
    $p
}

$facts['errors'] = $errors
$facts['collected_at'] = ConvertTo-IsoDate (Get-Date)
$facts['collect_seconds'] = [math]::Round(((Get-Date) - $started).TotalSeconds, 3)
$json = $facts | ConvertTo-Json -Depth 8 -Compress
$sb = New-Object Text.StringBuilder
foreach ($ch in $json.ToCharArray()) {
    if ([int]$ch -gt 127) { [void]$sb.AppendFormat('\u{0:x4}', [int]$ch) } else { [void]$sb.Append($ch) }
}
[Console]::Out.Write($sb.ToString())

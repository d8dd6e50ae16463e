# First contact with a Windows host, before any apply (esms-baseline windows probe). READ-ONLY:
# nothing is written, no service touched. Prints ONE JSON document, ASCII only (non-ASCII
# escaped as \uXXXX, so the console code page cannot garble it).
#
# What is read, and where it is documented (Microsoft Learn):
# - administrator: WindowsPrincipal.IsInRole(WindowsBuiltInRole.Administrator)
#   https://learn.microsoft.com/en-us/dotnet/api/system.security.principal.windowsprincipal.isinrole
# - PowerShell: $PSVersionTable.PSVersion (Ansible needs Windows PowerShell 5.1 or later:
#   https://docs.ansible.com/ansible/latest/os_guide/windows_setup.html)
# - edition and build: Win32_OperatingSystem (Caption, BuildNumber, ProductType, OSLanguage,
#   MUILanguages) https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-operatingsystem
# - display language: Get-WinUILanguageOverride / Get-UICulture; console code page:
#   [Console]::OutputEncoding.CodePage (850 on a French host, 437 on an English one)
# - domain: Win32_ComputerSystem (PartOfDomain, Domain, DomainRole)
#   https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-computersystem
# - Defender and Tamper Protection: Get-MpComputerStatus (AMServiceEnabled, AntivirusEnabled,
#   RealTimeProtectionEnabled, AMRunningMode, IsTamperProtected)
#   https://learn.microsoft.com/en-us/powershell/module/defender/get-mpcomputerstatus
# - pending reboot: Microsoft.Update.SystemInfo RebootRequired (ISystemInformation)
#   https://learn.microsoft.com/en-us/windows/win32/api/wuapi/nf-wuapi-isysteminformation-get_rebootrequired
#   and the servicing stack's ...\Component Based Servicing\RebootPending key.
# - WinRM listeners: Get-ChildItem WSMan:\localhost\Listener (Transport, Port, CertificateThumbprint)
#   https://learn.microsoft.com/en-us/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
#   and the listener certificate's expiry from the Cert: drive (X509Certificate2.NotAfter)
#   https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/about/about_certificate_provider
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$out = [ordered]@{ probe = 1 }
$errors = [ordered]@{}
function Read-Section([string]$Name, [scriptblock]$Block) {
    try { $out[$Name] = & $Block } catch { $errors[$Name] = $_.Exception.Message }
}
Read-Section 'identity' {
    $me = [Security.Principal.WindowsIdentity]::GetCurrent()
    $p = New-Object Security.Principal.WindowsPrincipal($me)
    [ordered]@{ name = [string]$me.Name; sid = [string]$me.User.Value
                is_admin = [bool]$p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator) }
}
Read-Section 'powershell' { [ordered]@{ version = [string]$PSVersionTable.PSVersion; edition = [string]$PSVersionTable.PSEdition } }
Read-Section 'os' {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem
    [ordered]@{
        caption = [string]$os.Caption; version = [string]$os.Version; build = [int]$os.BuildNumber
        product_type = [int]$os.ProductType; os_language = [int]$os.OSLanguage
        mui_languages = @($os.MUILanguages | ForEach-Object { [string]$_ })
        ui_culture = [string](Get-UICulture).Name; code_page = [int][Console]::OutputEncoding.CodePage
        part_of_domain = [bool]$cs.PartOfDomain; domain = [string]$cs.Domain; domain_role = [int]$cs.DomainRole
    }
}
Read-Section 'defender' {
    $s = Get-MpComputerStatus
    [ordered]@{ am_service_enabled = [bool]$s.AMServiceEnabled; antivirus_enabled = [bool]$s.AntivirusEnabled
                realtime_enabled = [bool]$s.RealTimeProtectionEnabled; running_mode = [string]$s.AMRunningMode
                tamper_protected = $s.IsTamperProtected }
}
Read-Section 'reboot' {
    $wu = $null
    try { $wu = [bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired } catch { $wu = $null }
    $cbs = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
    [ordered]@{ windows_update = $wu; servicing = [bool]$cbs }
}
Read-Section 'winrm' {
    , @(Get-ChildItem -Path WSMan:\localhost\Listener | ForEach-Object {
        $keys = @($_.Keys)
        $thumb = [string](Get-Item -Path ($_.PSPath + '\CertificateThumbprint')).Value
        $cert = if ($thumb) { Get-Item -LiteralPath ('Cert:\LocalMachine\My\' + $thumb.Trim()) -ErrorAction SilentlyContinue }
        [ordered]@{ keys = $keys
                    port = [string](Get-Item -Path ($_.PSPath + '\Port')).Value
                    thumbprint = $thumb
                    not_after = if ($cert) { $cert.NotAfter.ToUniversalTime().ToString('o') } else { $null } }
    })
}
$out['errors'] = $errors
$json = $out | ConvertTo-Json -Depth 6 -Compress
$sb = New-Object Text.StringBuilder
foreach ($ch in $json.ToCharArray()) {
    if ([int]$ch -gt 127) { [void]$sb.AppendFormat('\u{0:x4}', [int]$ch) } else { [void]$sb.Append($ch) }
}
[Console]::Out.Write($sb.ToString())

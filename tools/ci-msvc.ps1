# The MSVC legs of appveyor.yml: CMocka 1.1.5 from its pinned release
# archive, then shmpool shared and static, Debug and Release, each built
# with /W4 /WX, tested with ctest, installed, and used by a find_package
# consumer. Runs in Windows PowerShell on AppVeyor's Visual Studio images.
#
#   tools/ci-msvc.ps1 -Generator "Visual Studio 17 2022" -Arch x64 `
#                     -Deps C:\deps\msvc2022-x64
#
# Native commands are checked through $LASTEXITCODE, one by one:
# $ErrorActionPreference is left at "Continue" on purpose, because with
# "Stop" Windows PowerShell 5.1 turns any line a native command writes to
# stderr (CMake's warnings, ctest's progress) into a terminating error.
param(
  [Parameter(Mandatory = $true)][string]$Generator,
  [Parameter(Mandatory = $true)][string]$Arch,
  [Parameter(Mandatory = $true)][string]$Deps
)
$ErrorActionPreference = "Continue"

# Every job pins the same CMocka: the release archive and its SHA-256
# (cmocka.org's file; Debian's cmocka_1.1.5.orig.tar.xz is the same bytes,
# checked against upstream's signature, and tools/build-cmocka.sh builds
# that one for the Wine legs).
$CmockaVersion = "1.1.5"
$CmockaUrl = "https://cmocka.org/files/1.1/cmocka-$CmockaVersion.tar.xz"
$CmockaSha256 = "f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6"

function Invoke-Checked {
  # Run a native command, its output to the console (not into a caller's
  # return value); throw if it exits non-zero.
  param([string]$What, [scriptblock]$Command)
  & $Command | Out-Host
  if ($LASTEXITCODE -ne 0) {
    throw "$What failed (exit code $LASTEXITCODE)"
  }
}

function Install-Cmocka {
  param([string]$Config)
  $prefix = Join-Path $Deps "cmocka-$CmockaVersion-$Config"
  if (Test-Path (Join-Path $prefix "include\cmocka.h")) {
    Write-Host "CMocka $CmockaVersion ($Config) from the cache: $prefix"
    return $prefix
  }
  New-Item -ItemType Directory -Force -Path $Deps | Out-Null
  $archive = Join-Path $Deps "cmocka-$CmockaVersion.tar.xz"
  if (-not (Test-Path $archive)) {
    Invoke-WebRequest -Uri $CmockaUrl -OutFile $archive -UseBasicParsing
  }
  $sum = (Get-FileHash -Algorithm SHA256 -Path $archive).Hash.ToLower()
  if ($sum -ne $CmockaSha256) {
    Remove-Item $archive
    throw "cmocka-$CmockaVersion.tar.xz: SHA-256 $sum, expected $CmockaSha256"
  }
  $src = Join-Path $Deps "cmocka-$CmockaVersion"
  if (-not (Test-Path $src)) {
    Invoke-Checked "unpack CMocka" {
      cmake -E chdir $Deps cmake -E tar xf $archive
    }
  }
  $build = Join-Path $Deps "cmocka-build-$Config"
  # A static CMocka, built in the same configuration as the tests, so both
  # use the same CRT (/MDd for Debug, /MD for Release).
  Invoke-Checked "configure CMocka" {
    cmake -S $src -B $build -G $Generator -A $Arch `
      -DCMAKE_CONFIGURATION_TYPES="$Config" -DWITH_STATIC_LIB=ON `
      -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF -DPICKY_DEVELOPER=OFF `
      -DCMAKE_INSTALL_PREFIX="$prefix"
  }
  Invoke-Checked "build CMocka" { cmake --build $build --config $Config }
  Invoke-Checked "install CMocka" {
    cmake --install $build --config $Config --prefix $prefix
  }
  return $prefix
}

foreach ($config in @("Debug", "Release")) {
  $cmocka = Install-Cmocka $config
  foreach ($shared in @("ON", "OFF")) {
    $b = "build-$config-$shared"
    $prefix = "$pwd/prefix-$config-$shared"
    Write-Host "==== shmpool $Arch $config shared=$shared"
    Invoke-Checked "configure $b" {
      cmake -S . -B $b -G $Generator -A $Arch `
        -DCMAKE_CONFIGURATION_TYPES="$config" `
        -DBUILD_SHARED_LIBS="$shared" -DSHMPOOL_WERROR=ON `
        -DCMAKE_PREFIX_PATH="$cmocka"
    }
    Invoke-Checked "build $b" { cmake --build $b --config $config --parallel 2 }
    Invoke-Checked "ctest $b" {
      ctest --test-dir $b -C $config --output-on-failure --timeout 600
    }
    Invoke-Checked "install $b" {
      cmake --install $b --config $config --prefix $prefix
    }
    $c = "consumer-$config-$shared"
    Invoke-Checked "configure $c" {
      cmake -S tests/consumers/find_package -B $c -G $Generator -A $Arch `
        -DCMAKE_CONFIGURATION_TYPES="$config" -DCMAKE_PREFIX_PATH="$prefix"
    }
    Invoke-Checked "build $c" { cmake --build $c --config $config }
    if ($shared -eq "ON") {
      Copy-Item "$prefix/bin/*.dll" "$c/$config/"
    }
    Invoke-Checked "ctest $c" {
      ctest --test-dir $c -C $config --output-on-failure
    }
  }
}

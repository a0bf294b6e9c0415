#!/bin/sh
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: tests/utils/find_python.sh 3.12
# Prints the path of a working Python of that version, found as a user's machine offers one:
# pythonX.Y on the PATH first, then pyenv's interpreters. ansible-core 2.20 and later need 3.12+.
set -u
version=${1:?usage: $0 X.Y}
works() { "$1" -c 'import ensurepip, venv' >/dev/null 2>&1; }

# A pyenv shim on the PATH exists even where it cannot run this version, so try it.
if found=$(command -v "python$version" 2>/dev/null) && works "$found"; then
    echo "$found"; exit 0
fi
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for candidate in $(ls -d "$root"/versions/"$version".*/bin/"python$version" 2>/dev/null | sort -t. -k3 -n -r); do
    if works "$candidate"; then echo "$candidate"; exit 0; fi
done
cat >&2 <<MESSAGE
No Python $version found (looked for python$version on the PATH and under $root/versions/).
It is needed to test ansible-core releases that require it. Install one, for example:
  - Debian/Ubuntu: apt-get install python$version python$version-venv (where your release has it), or
  - pyenv: pyenv install $version   (https://github.com/pyenv/pyenv)
then run make again.
MESSAGE
exit 1

#!/usr/bin/env bash
# cmake/man-commands.sh GRAPHC OUT.h2m — a help2man include with every
# subcommand's --help, so the man page says what the program says.
set -euo pipefail
graphc=$1
{
  echo "[COMMANDS]"
  for sub in $("$graphc" --help | awk '/^Subcommands:/{f=1;next} f&&NF{print $1}'); do
    echo ".SS \"graphc $sub\""
    echo ".nf"
    "$graphc" help "$sub" | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e 's/^'"'"'/\\\&'"'"'/'
    echo ".fi"
  done
  echo "[FILES]"
  echo "The training text: --data, else \$GRAPHC_DATA, else share/graphc/timemachine.txt beside the installed graphc."
  echo "The compile cache: \$XDG_CACHE_HOME/graphc or ~/.cache/graphc."
  echo "[SEE ALSO]"
  echo "The README and docs/ of the graphc sources."
} >"$2"

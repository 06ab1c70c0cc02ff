# Helpers for the plugin tests (tests/cli/t12xx-plugins-*.sh), sourced after
# lib.sh. Plugins are real executables written at test time into
# $PLUGINS, which is put on WHRUN_PLUGIN_PATH.
PLUGINS="$TMP/plugins"
mkdir -p "$PLUGINS"
export WHRUN_PLUGIN_PATH="$PLUGINS"
PAYLOAD="$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json"

# plugin NAME SCHEMA DELIVER-BODY: writes $PLUGINS/whrun-kind-NAME, a shell
# script whose describe prints SCHEMA and whose deliver runs DELIVER-BODY
# (with the request saved in $req first).
plugin() {
	cat >"$PLUGINS/whrun-kind-$1" <<SH
#!/bin/sh
case "\$1" in
describe) cat <<'SCHEMA'
$2
SCHEMA
;;
deliver)
req=\$(cat)
$3
;;
*) exit 2 ;;
esac
SH
	chmod +x "$PLUGINS/whrun-kind-$1"
}

# The attempt number of the request in $req.
ATTEMPT='attempt=$(printf "%s" "$req" | sed -n "s/.*\"attempt\":\([0-9]*\).*/\1/p")'

ANY_SCHEMA='{"type": "object"}'

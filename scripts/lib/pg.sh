# PostgreSQL schemas of one test run. Every schema a run creates carries its run id
# (t_<run>_… for the store tests, e2e_<run> for the end-to-end run), and a run drops only
# those: never another run's, never anything else in the database. Source it; it defines
# functions only.
#
#   new_run_id                      prints a fresh run id (12 hex digits)
#   drop_run_schemas URL RUN_ID     drops the schemas t_RUN_ID_*, e2e_RUN_ID, e2e_RUN_ID_puppet and
#                                   e2e_RUN_ID_crypto in URL

new_run_id() {
    python3 -c "import secrets; print(secrets.token_hex(6))"
}

drop_run_schemas() {
    local url=$1 run=$2
    case "$run" in
        *[!0-9a-f]* | "") echo "drop_run_schemas: bad run id '$run'" >&2; return 1 ;;
    esac
    psql "$url" -qtAc "SELECT format('DROP SCHEMA IF EXISTS %I CASCADE;', nspname) FROM pg_namespace
                       WHERE nspname LIKE 't\\_${run}\\_%' OR nspname IN ('e2e_${run}', 'e2e_${run}_puppet', 'e2e_${run}_crypto')" \
        | psql "$url" -q >/dev/null
}

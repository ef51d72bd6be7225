"""The dialects of the seed-style test servers the tests run against (servers/README.md, "Dialects"), and what a
test needs to talk to one."""

# Per seed: dialects that differ from the default server in every key the seed leaves open. Together they take
# every value of every key at least once per seed (with the default server the other tests use).
DIALECTS = {
    "emergency-dispatch": [
        "auth=off,text=alt,case=snake,id=_id,idtype=int,base=,list=data,order=newest",
        "text=alt,case=camel,id=uuid,idtype=str,base=/api/v1,list=items",
        "auth=off,case=snake,idtype=int,base=/x,list=named,order=newest",
    ],
    "service-calls": [
        "auth=off,text=alt,case=snake,id=_id,idtype=int,base=,list=named,order=newest",
        "text=alt,id=uuid,idtype=str,base=/api/v1,list=items",
        "auth=off,case=snake,idtype=int,base=/x,list=data,order=newest",
    ],
    "station-reports": [
        "text=alt,case=camel,id=_id,idtype=str,base=,list=array,order=newest",
        "auth=off,text=alt,case=snake,id=uuid,base=/api/v1,list=data",
        "case=camel,idtype=str,base=/x,list=items,order=newest",
    ],
    "crowd-monitoring": [
        "text=alt,case=snake,id=_id,idtype=int,base=/api,list=data,order=newest",
        "id=uuid,idtype=str,base=,list=named",
        "text=alt,case=snake,idtype=int,list=items,order=newest",
    ],
    "ticketing": [
        "auth=off,text=alt,case=snake,id=_id,idtype=str,base=,list=data",
        "text=alt,id=uuid,base=/api/v1,list=items,order=oldest",
        "auth=off,case=camel,idtype=str,base=/x,list=named",
    ],
}
# Profiles whose seed asks for a token on the socket: they are always given one (an open dialect ignores it).
TOKEN_ALWAYS = {"station-reports", "crowd-monitoring"}
CLI = "alertdesk-cli"


def id_key(record: dict) -> str:
    """The field a dialect's record keeps its id in."""
    return next(k for k in ("id", "_id", "uuid") if k in record)


def record_id(record: dict):
    return record[id_key(record)]


def auth_off(dialect: str) -> bool:
    return "auth=off" in dialect.split(",")


USUAL_BASES = {"/api", "", "/api/v1"}


def base_args(server) -> list[str]:
    """A REST base no server usually has is one the user names (`--set api_base=`): it cannot be found."""
    return [] if server.base in USUAL_BASES else ["--set", f"api_base={server.base}"]



"""What an ElastiCache user's access string lets it run, from Redis ACL semantics.

ElastiCache RBAC takes Redis OSS ACL access strings (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/
Clusters.RBAC.html: `on`/`off`, `~<key pattern>`, `&<channel pattern>`, `+`/`-` commands and `@categories`).
Redis applies the rules left to right, the last one naming a command (or its category) wins
(https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/). Key patterns only restrict
commands that name keys: SCAN, KEYS, RANDOMKEY, FLUSHALL and FLUSHDB declare none and act on the whole keyspace
(valkey-io/valkey#370, redis/redis#8152), and the script cache, function libraries, Pub/Sub introspection and
server commands are global. Categories per command are those of the Redis 7 command reference (redis.io/commands).
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: dict[str, frozenset[str]] = {
    name: frozenset(cats.split())
    for name, cats in {
        # Act on every tenant's keys or on server-wide state, whatever the key patterns say.
        "scan": "keyspace read slow",
        "keys": "keyspace read slow dangerous",
        "randomkey": "keyspace read slow",
        "dbsize": "keyspace read fast",
        "flushall": "keyspace write slow dangerous",
        "flushdb": "keyspace write slow dangerous",
        "swapdb": "keyspace write fast dangerous",
        "script|flush": "slow scripting",
        "script|kill": "slow scripting",
        "script|load": "slow scripting",
        "function|flush": "write slow scripting",
        "function|delete": "write slow scripting",
        "function|load": "write slow scripting",
        "function|restore": "write slow scripting",
        "pubsub|channels": "pubsub slow",
        "pubsub|numsub": "pubsub slow",
        "pubsub|shardchannels": "pubsub slow",
        "client|list": "admin slow dangerous connection",
        "client|kill": "admin slow dangerous connection",
        "monitor": "admin slow dangerous",
        "config|set": "admin slow dangerous",
        "debug": "admin slow dangerous",
        "info": "slow dangerous",
        # What an agent does with its own keys and channels.
        "get": "read string fast",
        "set": "write string slow",
        "del": "keyspace write slow",
        "expire": "keyspace write fast",
        "hset": "write hash fast",
        "incr": "write string fast",
        "eval": "slow scripting",
        "evalsha": "slow scripting",
        "publish": "pubsub fast",
        "subscribe": "pubsub slow",
    }.items()
}
GLOBAL = frozenset(
    [
        "scan",
        "keys",
        "randomkey",
        "dbsize",
        "flushall",
        "flushdb",
        "swapdb",
        "script|flush",
        "script|kill",
        "script|load",
        "function|flush",
        "function|delete",
        "function|load",
        "function|restore",
        "pubsub|channels",
        "pubsub|numsub",
        "pubsub|shardchannels",
        "client|list",
        "client|kill",
        "monitor",
        "config|set",
        "debug",
        "info",
    ]
)
TENANT_COMMANDS = frozenset(CATEGORIES) - GLOBAL


@dataclass(frozen=True)
class Access:
    on: bool
    key_patterns: tuple[str, ...]
    channel_patterns: tuple[str, ...]
    rules: tuple[str, ...]

    def allows(self, command: str) -> bool:
        """`command` is `name` or `container|subcommand`."""
        container = command.split("|")[0]
        categories = CATEGORIES[command]
        allowed = False
        for rule in self.rules:
            sign, target = rule[0] == "+", rule[1:]
            if (
                target == "@all"
                or (target.startswith("@") and target[1:] in categories)
                or target in (command, container)
            ):
                allowed = sign
        return self.on and allowed


def parse(access_string: str) -> Access:
    on, keys, channels, rules = False, [], [], []
    for token in access_string.split():
        if token in ("on", "off"):
            on = token == "on"
        elif token.startswith("~"):
            keys.append(token[1:])
        elif token == "allkeys":
            keys.append("*")
        elif token.startswith("&"):
            channels.append(token[1:])
        elif token == "allchannels":
            channels.append("*")
        elif token in ("allcommands", "nocommands"):
            rules.append("+@all" if token == "allcommands" else "-@all")
        elif token[0] in "+-":
            rules.append(token.lower())
        else:
            raise ValueError(f"unknown ACL rule {token!r}")
    return Access(on, tuple(keys), tuple(channels), tuple(rules))

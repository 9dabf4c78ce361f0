# The seed project's targets: each runs a challenge's official command. They use the
# glomers workbench; set MAELSTROM=/path/to/maelstrom to run the real Maelstrom instead.
#
#   make echoer          challenge 1
#   make unique-id       challenge 2
#   make snb / mnb       challenges 3a / 3b (single-, multi-node broadcast)
#   make mnb-partition   challenge 3c
#   make efficient-broadcast   challenges 3d and 3e (same command)
#   make goc             challenge 4 (grow-only counter)
#   make sn-kafka / mn-kafka   challenges 5a / 5b and 5c
#   make txn-rw-single   challenge 6a (single-node, read uncommitted)
#   make txn-rw-ru / txn-rw-ru-partition   challenge 6b, runs 1 and 2
#   make txn-rw-rc       challenge 6c as printed (the en dash passes `–-nemesis partition`
#                        to the binary); txn-rw-rc-partition with a real `--nemesis partition`
#   make all-challenges  the whole suite with a scoreboard (glomers challenge all)

CARGO    ?= cargo
RELEASE  := target/release
GLOMERS  := $(RELEASE)/glomers
RUNNER    = $(if $(MAELSTROM),$(MAELSTROM),$(GLOMERS))

.PHONY: build echoer unique-id snb mnb mnb-partition efficient-broadcast goc sn-kafka mn-kafka txn-rw-single txn-rw-ru txn-rw-ru-partition txn-rw-rc txn-rw-rc-partition all-challenges test ci

build:
	$(CARGO) build --release --workspace

echoer: build
	$(RUNNER) test -w echo --bin $(RELEASE)/echo --node-count 1 --time-limit 10

unique-id: build
	$(RUNNER) test -w unique-ids --bin $(RELEASE)/unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition

snb: build
	$(RUNNER) test -w broadcast --bin $(RELEASE)/broadcast --node-count 1 --time-limit 20 --rate 10

mnb: build
	$(RUNNER) test -w broadcast --bin $(RELEASE)/broadcast --node-count 5 --time-limit 20 --rate 10

mnb-partition: build
	$(RUNNER) test -w broadcast --bin $(RELEASE)/broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition

efficient-broadcast: build
	$(RUNNER) test -w broadcast --bin $(RELEASE)/broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100

goc: build
	$(RUNNER) test -w g-counter --bin $(RELEASE)/g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition

sn-kafka: build
	$(RUNNER) test -w kafka --bin $(RELEASE)/kafka --node-count 1 --concurrency 2n --time-limit 20 --rate 1000

mn-kafka: build
	$(RUNNER) test -w kafka --bin $(RELEASE)/kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000

TXN_MULTI := --node-count 2 --concurrency 2n --time-limit 20 --rate 1000

txn-rw-single: build
	$(RUNNER) test -w txn-rw-register --bin $(RELEASE)/txn --node-count 1 --time-limit 20 --rate 1000 --concurrency 2n --consistency-models read-uncommitted --availability total

txn-rw-ru: build
	$(RUNNER) test -w txn-rw-register --bin $(RELEASE)/txn $(TXN_MULTI) --consistency-models read-uncommitted

txn-rw-ru-partition: build
	$(RUNNER) test -w txn-rw-register --bin $(RELEASE)/txn $(TXN_MULTI) --consistency-models read-uncommitted --availability total --nemesis partition

txn-rw-rc: build
	$(RUNNER) test -w txn-rw-register --bin $(RELEASE)/txn $(TXN_MULTI) --consistency-models read-committed --availability total –-nemesis partition

txn-rw-rc-partition: build
	$(RUNNER) test -w txn-rw-register --bin $(RELEASE)/txn $(TXN_MULTI) --consistency-models read-committed --availability total --nemesis partition

all-challenges:
	$(CARGO) run --release -p glomers -- challenge all

test:
	$(CARGO) test --workspace

ci:
	bash .ci/run

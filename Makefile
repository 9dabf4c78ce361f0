# The seed project's targets: each runs a challenge's official command. They use the
# glomers workbench; set MAELSTROM=/path/to/maelstrom to run the real Maelstrom instead.
#
#   make echoer        challenge 1
#   make unique-id     challenge 2
#   make all-challenges   the whole suite with a scoreboard (glomers challenge all)

CARGO    ?= cargo
RELEASE  := target/release
GLOMERS  := $(RELEASE)/glomers
RUNNER    = $(if $(MAELSTROM),$(MAELSTROM),$(GLOMERS))

.PHONY: build echoer unique-id all-challenges test ci

build:
	$(CARGO) build --release --workspace

echoer: build
	$(RUNNER) test -w echo --bin $(RELEASE)/echo --node-count 1 --time-limit 10

unique-id: build
	$(RUNNER) test -w unique-ids --bin $(RELEASE)/unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition

all-challenges:
	$(CARGO) run --release -p glomers -- challenge all

test:
	$(CARGO) test --workspace

ci:
	bash .ci/run

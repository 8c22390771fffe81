# Front door. The real build is CMake; these targets set up, build and run.
# bash with pipefail: a failing build must fail the target even though its
# output is filtered through grep.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
JOBS ?= 2
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080
BUILD := build
ASAN := build-asan

.PHONY: all setup build build-asan web run test unit unit-asan e2e bench fmt lint clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/Makefile: CMakeLists.txt
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j$(JOBS) 2>&1 | { grep -Ev '^\[|(Entering|Leaving) directory' || true; }

$(ASAN)/Makefile: CMakeLists.txt
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DSIYU_SANITIZE=ON >/dev/null

build-asan: $(ASAN)/Makefile
	@cmake --build $(ASAN) -j$(JOBS) 2>&1 | { grep -Ev '^\[|(Entering|Leaving) directory' || true; }

web:
	@scripts/build-web.sh

run: setup build web
	@test -f $(DATA)/siyu.db || $(BUILD)/siyu demo --data $(DATA)
	@echo "siyu: console and API on http://$(LISTEN)/"
	@test ! -f $(DATA)/demo.json || node -e 'const d=require(process.argv[1]);console.log("siyu: demo admin login: "+d.admin.username+" / "+d.admin.password+"  (API token and write key in "+process.argv[1]+")")' "$(abspath $(DATA))/demo.json"
	@$(BUILD)/siyu serve --data $(DATA) --listen $(LISTEN)

unit: build
	@cd $(BUILD) && ctest --output-on-failure

unit-asan: build-asan
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure

e2e: build web
	@SIYU_BIN=$(CURDIR)/$(BUILD)/siyu node --test --test-concurrency=1 tests/e2e/

test: setup
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-asan
	@$(MAKE) --no-print-directory e2e

bench: setup build
	@bench/run.sh

fmt:
	@clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h

lint: build
	@clang-tidy -p $(BUILD) --quiet src/*.c src/*/*.c

clean:
	rm -rf $(BUILD) $(ASAN)

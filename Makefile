# Two commands matter: `make up` (whole system with demo data) and `make test`.
SHELL := /bin/bash
STACK := scripts/stack.sh
PY := .venv/bin/python

.PHONY: up down status test lint install env-dev env-test test-up test-down

up: ## install what is missing, start everything with demo data, wait for health
	@bash $(STACK) up dev
	@bash $(STACK) app-up
	@bash scripts/wait_healthy.sh

down: ## stop exactly what `make up` started
	@bash $(STACK) down dev

status: ## one line per part of the local stack
	@bash $(STACK) status dev

test: ## own PostgreSQL/Redis/broker for tests, then the whole pytest suite
	@bash scripts/run_tests.sh

lint:
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

install:
	@bash $(STACK) install

test-up:
	@bash $(STACK) up test

test-down:
	@bash $(STACK) down test

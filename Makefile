# Two commands matter: `make up` (whole system with demo data) and `make test`.
SHELL := /bin/bash
STACK := scripts/stack.sh
PY := .venv/bin/python

.PHONY: up down restart status test lint install test-up test-down backup restore

up: ## install what is missing, start everything with demo data, wait for health
	@bash $(STACK) up dev
	@bash $(STACK) app-up
	@bash scripts/wait_healthy.sh

down: ## stop exactly what `make up` started
	@bash $(STACK) down dev

restart: ## restart the application processes (new code), keep the data services
	@bash $(STACK) app-down
	@bash $(STACK) app-up
	@bash scripts/wait_healthy.sh

status: ## one line per part of the local stack
	@bash $(STACK) status dev

test: ## own PostgreSQL/Redis/broker for tests, then the whole pytest suite
	@bash scripts/run_tests.sh

backup: ## pg_dump (custom format) of the dev database to backups/<UTC time>.dump
	@bash scripts/backup.sh backup

restore: ## restore FILE=backups/....dump (default: the newest) over the dev database
	@bash scripts/backup.sh restore $(FILE)

lint:
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

install:
	@bash $(STACK) install

test-up:
	@bash $(STACK) up test

test-down:
	@bash $(STACK) down test

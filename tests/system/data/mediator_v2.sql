-- A shoal-mediator database of schema version 2, as shoal-mediator
-- f885afa made it at its first start (meta, the schema), with two
-- clients and a network added in its schema: system/mediator_db.sh
-- migrates it.  sqlite3's .dump, and the two PRAGMAs it leaves out.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta (  key TEXT PRIMARY KEY,  value BLOB NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES('ipv4_next',1681915907);
INSERT INTO meta VALUES('ipv4_pool',7223773808283353086);
INSERT INTO meta VALUES('ula_prefix',X'fd6988848e16');
CREATE TABLE clients (  id INTEGER PRIMARY KEY,  pubkey BLOB NOT NULL UNIQUE CHECK (length(pubkey) = 32),  nickname TEXT NOT NULL COLLATE NOCASE UNIQUE,  ipv4 INTEGER NOT NULL UNIQUE,  ipv6_iid BLOB NOT NULL UNIQUE CHECK (length(ipv6_iid) = 8),  mac BLOB NOT NULL UNIQUE CHECK (length(mac) = 6),  created INTEGER NOT NULL,  last_login INTEGER NOT NULL);
INSERT INTO clients VALUES(1,X'ee14ffa945b6dca5a2f796bdd03cc3a80145c68c611d507063289c786be59aab','Alice',1681915905,X'1111111111111111',X'021111111111',1700000000,1700000000);
INSERT INTO clients VALUES(2,X'65d0b71ab2529a9a6d5e4d55679037770c995a73e86a5f2d6666a9780a381f85','bob',1681915906,X'2222222222222222',X'022222222222',1700000000,1700000000);
CREATE TABLE networks (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL COLLATE NOCASE UNIQUE,  owner_id INTEGER NOT NULL REFERENCES clients(id),  password_hash TEXT,  approval INTEGER NOT NULL CHECK (approval IN (0, 1)),  member_limit INTEGER NOT NULL CHECK (member_limit > 0),  created INTEGER NOT NULL);
INSERT INTO networks VALUES(1,'Lan',1,NULL,0,256,1700000000);
CREATE TABLE members (  network_id INTEGER NOT NULL    REFERENCES networks(id) ON DELETE CASCADE,  client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,  state INTEGER NOT NULL CHECK (state IN (1, 2)),  since INTEGER NOT NULL,  PRIMARY KEY (network_id, client_id)) WITHOUT ROWID;
INSERT INTO members VALUES(1,1,2,1);
INSERT INTO members VALUES(1,2,2,2);
CREATE TABLE free_ipv4 (addr INTEGER PRIMARY KEY);
CREATE TABLE bans (  network_id INTEGER NOT NULL    REFERENCES networks(id) ON DELETE CASCADE,  client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,  created INTEGER NOT NULL,  PRIMARY KEY (network_id, client_id)) WITHOUT ROWID;
CREATE INDEX members_by_client ON members(client_id);
CREATE INDEX clients_by_last_login ON clients(last_login);
COMMIT;
PRAGMA application_id = 1936223588;
PRAGMA user_version = 2;

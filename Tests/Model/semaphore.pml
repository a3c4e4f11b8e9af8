/*
 * rc's etcd semaphore and queue, for Spin (docs/etcd.md, "The model"; Tests/Model/check.sh runs it).
 *
 * Three nodes, SLOTS slot keys. etcd is an atomic store: every read and every transaction is one step. A lease
 * that nobody refreshes may end at any moment (the model has no clock); one that is still refreshed ends only as
 * a fault: its node was stopped (SIGSTOP) or slow past the ttl. An rc process may crash at any moment, and so may
 * the node (a new boot id); the new process has only its reboot record, and runs the restart path.
 *
 *   -DSLOTS=2                    two slot keys (default 1)
 *   -DFAULTS=n                   at most n faults in all (crashes, expiries of refreshed leases, checks that say
 *                                no, failed reboot commands); without it, any number at any moment
 *   -DLIVE                       each node needs one reboot; the ltl formulas `waiter` and `done` apply
 *   -DBUGGY_NO_RECHECK           the move to the reboot lease is not checked (`succeeded` ignored) and the keys
 *                                are not read again before the reboot command
 *   -DBUGGY_NO_SUCCEEDED_CHECK   only the first of the two; -DBUGGY_NO_REREAD only the second
 *   -DBUGGY_RELEASE              a release deletes the keys it read without comparing them
 *   -DBUGGY_EARLY_CANCEL         the slot's keep-alive stops when prepareForReboot starts, not when the move
 *                                succeeded
 *   -DONLY_REBOOTING             check only the number of rebooting nodes (for a variant that breaks the others
 *                                first)
 *
 * `spin -T -t` on a trail prints one line per step (the printf below; the verifier does not print).
 */

#ifndef SLOTS
#define SLOTS 1
#endif
#ifdef BUGGY_NO_RECHECK
#define BUGGY_NO_SUCCEEDED_CHECK
#define BUGGY_NO_REREAD
#endif
#ifdef FAULTS
#define FAULT (faults < FAULTS)
#define BUMP  faults++
#else
#define FAULT true
#define BUMP  skip
#endif

#define N        3
#define LPN      4            /* lease ids per node: node n grants n*LPN+1 .. n*LPN+LPN */
#define NL       13           /* lease ids 1 .. N*LPN; 0 is "no lease" */
#define NOSLOT   SLOTS
#define ATTEMPTS 2            /* EtcdLock.attempts */

/* ---- etcd ---- */
byte hk[N];                   /* holders/<n>: the key's lease; 0: no key */
byte so[SLOTS];               /* slots/<i>: its value, the holder's node + 1; 0: no key */
byte sl[SLOTS];               /* slots/<i>: its lease */
byte wq[N];                   /* waiters/<n>: its place in line by create revision (1: first); 0: no key */
byte wl[N];                   /* waiters/<n>: its lease */
bool alive[NL];               /* granted, not yet expired or revoked */

/* The holder key's value: whose it is, relative to node n as it is now */
bool hmine[N];                /* its instance id is the running process's */
bool hreb[N];                 /* its phase is "rebooting" (kept across the reboot) */
bool hcur[N];                 /* its boot id is the node's current one */

/* ---- each node: its rc process (lost in a crash) and its reboot record (kept) ---- */
mtype = { IDLE, TXN, JOIN, WAIT, HOLD, MOVE, MTXN, CHECK, REBOOT, RREAD, RTXN, CRASHED, KEPT, DONE };
mtype pc[N];                  /* what the node does; REBOOT: the reboot command runs, then the node is down */
byte L[N];                    /* the process's ttl lease: its place in line, then its slot */
bool ka[N];                   /* the process refreshes L */
byte R[N];                    /* the reboot lease the process granted */
byte slot[N];                 /* the slot index the process holds, as far as it knows (NOSLOT: not known) */
byte idx[N];                  /* the slot index of the step under way: to try, to move, to delete */
byte att[N];                  /* transactions tried in this acquire */
bool rec[N];                  /* the reboot record in the state directory: survives a crash */
bool rcur[N];                 /* the record's boot id is the node's current one */
bool ab[N];                   /* the release under way is the one after the boot (releaseAfterReboot) */
byte need[N];                 /* -DLIVE: reboots still needed */
bool over[N];                 /* the holder key ended while the node was down: the reboot outlasted its lease */
byte faults;                  /* -DFAULTS: faults so far */

/* Scratch within one step; never carries anything to the next, so it is not part of the state. */
hidden byte i, j, m, c, lk, fc, f0, f1, p, nx;
hidden byte map[NL];
hidden byte na[NL];

/* A lease that does not end by itself: the ttl lease its process refreshes, and the reboot lease from its grant
   to the reboot command, seconds of its max_reboot_duration. Either still ends as a fault. */
#define fresh(n)  (pc[n] == MTXN || pc[n] == CHECK)
#define kept(x)   ((L[0] == x && ka[0]) || (L[1] == x && ka[1]) || (L[2] == x && ka[2]) \
                   || (R[0] == x && fresh(0)) || (R[1] == x && fresh(1)) || (R[2] == x && fresh(2)))
#if SLOTS > 1
#define onslot(x) ((so[0] > 0 && sl[0] == x) || (so[1] > 0 && sl[1] == x))
#else
#define onslot(x) (so[0] > 0 && sl[0] == x)
#endif
#define used(x)   (hk[0] == x || hk[1] == x || hk[2] == x || onslot(x) \
                   || (wq[0] > 0 && wl[0] == x) || (wq[1] > 0 && wl[1] == x) || (wq[2] > 0 && wl[2] == x) \
                   || L[0] == x || L[1] == x || L[2] == x || R[0] == x || R[1] == x || R[2] == x)

/* Rebooting: the reboot command ran and the node is not back, unless its holder key ended while it was down
   (what the design bounds: a node down longer than max_reboot_duration frees its slot). */
#define reb(n)    (pc[n] == REBOOT && !over[n])
#define nreb      ((reb(0) -> 1 : 0) + (reb(1) -> 1 : 0) + (reb(2) -> 1 : 0))
#define nhold     ((hk[0] != 0 -> 1 : 0) + (hk[1] != 0 -> 1 : 0) + (hk[2] != 0 -> 1 : 0))
/* 1 when node a is in line ahead of node b */
#define ahead(a, b) (wq[a] > 0 && wq[a] < wq[b] -> 1 : 0)

/* The waiter key of node x goes; the ones behind it move up (only the order of create revisions matters). */
inline unqueue(x) {
  c = wq[x]; wq[x] = 0; wl[x] = 0;
  m = 0;
  do
  :: m < N -> if :: wq[m] > c -> wq[m]-- :: else fi; m++
  :: else -> break
  od;
  c = 0; m = 0
}

/* Lease lk ends (expired or revoked): etcd deletes every key on it. */
inline kill() {
  alive[lk] = 0;
  j = 0;
  do
  :: j < N ->
     if
     :: hk[j] == lk ->
        hk[j] = 0; hmine[j] = 0; hreb[j] = 0; hcur[j] = 0;
        if :: pc[j] == REBOOT -> over[j] = 1 :: else fi
     :: else
     fi;
     if :: wq[j] > 0 && wl[j] == lk -> unqueue(j) :: else fi;
     j++
  :: else -> break
  od;
  j = 0;
  do
  :: j < SLOTS -> if :: so[j] > 0 && sl[j] == lk -> so[j] = 0; sl[j] = 0 :: else fi; j++
  :: else -> break
  od;
  j = 0; lk = 0
}

/* A new lease of node x into dst: an id that is not alive and that its process does not remember. */
inline grant(x, dst) {
  i = x * LPN + 1;
  do
  :: i <= x * LPN + LPN && (alive[i] || L[x] == i || R[x] == i) -> i++
  :: i > x * LPN + LPN || !(alive[i] || L[x] == i || R[x] == i) -> break
  od;
  assert(i <= x * LPN + LPN);
  alive[i] = 1; dst = i; i = 0
}

/* A lease that holds no key and that no process knows of cannot be told from one that ended: it ends. */
inline gc() {
  i = 1;
  do
  :: i < NL -> if :: alive[i] && !used(i) -> alive[i] = 0 :: else fi; i++
  :: else -> break
  od;
  i = 0
}

/* Lease ids are only names: after every step each node's are renamed in one order (the process's lease, its
   reboot lease, then the leases of its keys), so that states that differ only in the names are one state. */
inline name(x) {
  if :: x != 0 && map[x] == 0 -> map[x] = nx; nx++ :: else fi
}
inline canon() {
  j = 0;
  do
  :: j < N ->
     nx = j * LPN + 1;
     name(L[j]); name(R[j]); name(hk[j]);
     m = 0;
     do
     :: m < SLOTS -> if :: so[m] == j + 1 -> name(sl[m]) :: else fi; m++
     :: else -> break
     od;
     if :: wq[j] > 0 -> name(wl[j]) :: else fi;
     j++
  :: else -> break
  od;
  i = 1;
  do
  :: i < NL -> if :: map[i] != 0 -> na[map[i]] = alive[i] :: else -> assert(!alive[i]) fi; i++
  :: else -> break
  od;
  i = 1;
  do
  :: i < NL -> alive[i] = na[i]; na[i] = 0; i++
  :: else -> break
  od;
  j = 0;
  do
  :: j < N ->
     L[j] = map[L[j]]; R[j] = map[R[j]]; hk[j] = map[hk[j]];
     if :: wq[j] > 0 -> wl[j] = map[wl[j]] :: else -> wl[j] = 0 fi;
     j++
  :: else -> break
  od;
  m = 0;
  do
  :: m < SLOTS -> if :: so[m] > 0 -> sl[m] = map[sl[m]] :: else -> sl[m] = 0 fi; m++
  :: else -> break
  od;
  i = 0;
  do
  :: i < NL -> map[i] = 0; i++
  :: else -> break
  od;
  i = 0; j = 0; m = 0; nx = 0
}

/* Every holder key goes with exactly one slot key naming its node, on the same lease. */
inline consistent() {
  j = 0;
  do
  :: j < N ->
     c = 0; m = 0;
     do
     :: m < SLOTS -> if :: so[m] == j + 1 -> c++; assert(sl[m] == hk[j]) :: else fi; m++
     :: else -> break
     od;
     assert((hk[j] != 0 && c == 1) || (hk[j] == 0 && c == 0));
     j++
  :: else -> break
  od;
  j = 0; c = 0; m = 0
}

/* Every key is on a lease that exists (a put on a lease that does not fails). */
inline leased() {
  j = 0;
  do
  :: j < N -> assert(hk[j] == 0 || alive[hk[j]]); assert(wq[j] == 0 || alive[wl[j]]); j++
  :: else -> break
  od;
  j = 0;
  do
  :: j < SLOTS -> assert(so[j] == 0 || alive[sl[j]]); j++
  :: else -> break
  od;
  j = 0
}

/* The properties, after every step. */
inline check() {
  leased();
  assert(nreb <= SLOTS);          /* mutual exclusion: never more than SLOTS nodes rebooting */
#ifndef ONLY_REBOOTING
  assert(nhold <= SLOTS);         /* the weaker one: never more than SLOTS holder keys */
  consistent()
#endif
}

/* The end of every step: unused leases go, the names are put in order, the properties are checked. */
inline settle() {
  gc(); canon(); check()
}

/* EtcdLock.free: the free slot indexes (f0, f1; fc of them), at most slots - max(holders, taken). */
inline free() {
  fc = 0; c = 0; i = 0;
  do
  :: i < SLOTS ->
     if
     :: so[i] == 0 -> if :: fc == 0 -> f0 = i :: else -> f1 = i fi; fc++
     :: else -> c++
     fi;
     i++
  :: else -> break
  od;
  m = nhold;
  if :: m < c -> m = c :: else fi;
  if
  :: m >= SLOTS -> fc = 0
  :: else -> if :: fc > SLOTS - m -> fc = SLOTS - m :: else fi
  fi;
  i = 0; c = 0; m = 0
}

/* The slot key whose value is node x, on its holder key's lease, into idx[x] (NOSLOT: none). */
inline slotOf(x) {
  idx[x] = NOSLOT; i = 0;
  do
  :: i < SLOTS -> if :: so[i] == x + 1 && sl[i] == hk[x] -> idx[x] = i :: else fi; i++
  :: else -> break
  od;
  i = 0
}

/* The process is gone (a crash, or the reboot): everything but the record on disk; no key is its any more. */
inline forget(x) {
  L[x] = 0; ka[x] = 0; R[x] = 0; slot[x] = NOSLOT; idx[x] = 0; att[x] = 0; over[x] = 0; ab[x] = 0; hmine[x] = 0
}
/* A new boot of the node: the boot id of its keys and of its record is an earlier one now. */
inline newBoot(x) {
  forget(x); hcur[x] = 0; rcur[x] = 0
}

/* Whose a holder key of this node's name is (EtcdLock.claim): a dead process of this boot (the node runs one rc
   process), and the holder that `release` and `releaseAfterReboot` may free. */
#define deadHere(x) (!hmine[x] && !hreb[x] && hcur[x])
#define owned(x)    (hmine[x] || deadHere(x) || (ab[x] && !hcur[x]))

/* EtcdLock.deleteHolder: the holder key, and the slot key naming the node on the holder key's lease, deleted in a
   transaction comparing both with what was read (unchanged: only this node's one process writes them), then the
   holder key's lease revoked. The caller read them in the same step or checks that they are unchanged. */
inline deleteHolder(x) {
  slotOf(x);
  if :: idx[x] != NOSLOT -> so[idx[x]] = 0; sl[idx[x]] = 0 :: else fi;
  lk = hk[x]; kill(); idx[x] = 0
}

/* Runner.releaseLock, EtcdLock.release: the process that took the slot revokes its session's lease (which holds
   the holder key and the slot key and nothing else); otherwise the keys are read (RREAD) and deleted (RTXN). */
inline release(x) {
  ka[x] = 0; over[x] = 0; ab[x] = 0;
  if
  :: L[x] != 0 && slot[x] != NOSLOT ->
     printf("n%d releases: revokes its lease\n", x);
     if :: alive[L[x]] -> lk = L[x]; kill() :: else fi;
     L[x] = 0; R[x] = 0; slot[x] = NOSLOT; idx[x] = 0; pc[x] = IDLE
  :: else -> pc[x] = RREAD
  fi
}

/* Not rebooting after all: the record goes, then the slot (an unused reboot lease is revoked). */
inline abandon(x) {
  rec[x] = 0; rcur[x] = 0;
  if :: R[x] != 0 && alive[R[x]] -> lk = R[x]; kill() :: else fi;
  R[x] = 0;
  release(x)
}

/* EtcdLock.acquire's look: this node's holder key, the slot keys, the number of holders. A node that did not
   queue takes a free slot at random (r), one let through by the queue the one of its place. */
inline acquireRead(x, r) {
  if
  :: hk[x] != 0 && hmine[x] && hk[x] == L[x] && ka[x] && alive[L[x]] ->
     slotOf(x); slot[x] = idx[x]; idx[x] = 0; att[x] = 0; pc[x] = HOLD;
     printf("n%d reads: holds its slot already\n", x)
  :: hk[x] != 0 && (hmine[x] || deadHere(x)) && !(hmine[x] && hk[x] == L[x] && ka[x] && alive[L[x]]) ->
     /* keys of a dead process of this boot, or its own on a lease it no longer keeps: deleted, look again */
     printf("n%d reads: deletes the keys of a dead process, looks again\n", x);
     if :: hmine[x] -> L[x] = 0; ka[x] = 0; slot[x] = NOSLOT :: else fi;   /* the session is dropped */
     deleteHolder(x);
     if
     :: att[x] + 1 < ATTEMPTS -> att[x]++
     :: else -> att[x] = 0; pc[x] = JOIN
     fi
  :: hk[x] != 0 && !hmine[x] && !deadHere(x) ->
     /* a reboot under way (phase rebooting) or a key of an earlier boot: refused, blocked by the lock */
     printf("n%d reads: its name is held by another instance; blocked\n", x)
  :: hk[x] == 0 ->
     free();
     if
     :: fc == 0 -> att[x] = 0; pc[x] = JOIN; printf("n%d reads: no free slot\n", x)
     :: else ->
        idx[x] = (r < fc -> (r == 0 -> f0 : f1) : (fc == 1 -> f0 : f1)); pc[x] = TXN;
        printf("n%d reads: slots/%d is free\n", x, idx[x])
     fi
  fi;
  fc = 0; f0 = 0; f1 = 0
}

/* The next step of node x's process, by where it is. Each is one read or one transaction, or a step of the node
   that touches nothing in etcd. */
inline step(x) {
  if
  /* IDLE: a pass that decides to reboot takes a slot: a look, then a transaction on a free slot. */
#ifdef LIVE
  :: pc[x] == IDLE && need[x] == 0 -> pc[x] = DONE; printf("n%d is done\n", x)
  :: pc[x] == IDLE && need[x] > 0 -> acquireRead(x, 0)
#else
  :: pc[x] == IDLE -> acquireRead(x, 0)
#endif
  :: pc[x] == TXN ->
     /* leaseForSlot: a spare lease, that of its place in line, or a new one */
     if :: L[x] == 0 -> grant(x, L[x]); ka[x] = 1 :: else fi;
     if
     :: !alive[L[x]] ->
        printf("n%d txn on slots/%d: lease not found\n", x, idx[x]);
        L[x] = 0; ka[x] = 0
     :: alive[L[x]] && so[idx[x]] == 0 && hk[x] == 0 ->
        /* compare: slots/<i> and holders/<n> create_revision == 0; success: both put on the lease (which a
           session keeps alive from now on), the waiter key deleted */
        so[idx[x]] = x + 1; sl[idx[x]] = L[x]; hk[x] = L[x]; hmine[x] = 1; hreb[x] = 0; hcur[x] = 1;
        if :: wq[x] > 0 -> unqueue(x) :: else fi;
        slot[x] = idx[x]; pc[x] = HOLD;
        printf("n%d txn on slots/%d: succeeded, holds it\n", x, idx[x])
     :: else -> printf("n%d txn on slots/%d: failed (taken)\n", x, idx[x])
     fi;
     if
     :: pc[x] == HOLD -> att[x] = 0
     :: pc[x] != HOLD && att[x] + 1 < ATTEMPTS -> att[x]++; pc[x] = IDLE     /* look again */
     :: pc[x] != HOLD && att[x] + 1 >= ATTEMPTS -> att[x] = 0; pc[x] = JOIN  /* blocked by the lock: waitTurn */
     fi;
     idx[x] = 0

  /* EtcdLock.waitTurn: the place in line is a waiter key on the process's lease, created once (a put keeps the
     create revision, so a restarted process keeps its place). */
  :: pc[x] == JOIN ->
     if :: L[x] != 0 && !alive[L[x]] -> L[x] = 0; ka[x] = 0 :: else fi;   /* keepAlive: it ended */
     if :: L[x] == 0 -> grant(x, L[x]); ka[x] = 1 :: else fi;
     if :: wq[x] == 0 -> wq[x] = 1 + (wq[0] > 0 -> 1 : 0) + (wq[1] > 0 -> 1 : 0) + (wq[2] > 0 -> 1 : 0) :: else fi;
     wl[x] = L[x]; pc[x] = WAIT;
     printf("n%d waits in line, place %d\n", x, wq[x])
  /* A look at the queue. Its turn (among the first `free` in line): the transaction on the free slot of its
     place. Otherwise the wait ends (the watches are not modelled: the wait ends at some point, at the latest at
     its deadline) and the next pass acquires from a fresh look. */
  :: pc[x] == WAIT ->
     if
     :: !(wq[x] > 0 && wl[x] == L[x] && alive[L[x]]) ->
        pc[x] = JOIN; printf("n%d lost its place in line\n", x)
     :: else ->
        free();
        p = ahead(0, x) + ahead(1, x) + ahead(2, x);
        if
        :: p < fc -> idx[x] = (p == 0 -> f0 : f1); att[x] = 0; pc[x] = TXN; printf("n%d: its turn\n", x)
        :: else -> att[x] = 0; pc[x] = IDLE; printf("n%d: not its turn, the wait ends\n", x)
        fi
     fi;
     fc = 0; f0 = 0; f1 = 0; p = 0

  /* HOLD: the checks again, under the lock, say reboot (or no: `decline` below). The reboot record is written;
     prepareForReboot: the session must be alive, and the holder key and the slot key, read once, this process's
     (its instance, on the session's lease). */
  :: pc[x] == HOLD ->
     rec[x] = 1; rcur[x] = 1;
#ifdef BUGGY_EARLY_CANCEL
     ka[x] = 0;
#endif
     slotOf(x);
     if
     :: alive[L[x]] && hk[x] == L[x] && hmine[x] && idx[x] != NOSLOT ->
        pc[x] = MOVE; printf("n%d writes its reboot record, reads its keys: its own\n", x)
     :: else -> printf("n%d writes its reboot record, reads its keys: not its own now; no reboot\n", x); abandon(x)
     fi
  /* The reboot lease is granted while the session keeps the slot alive; the session must still be alive after. */
  :: pc[x] == MOVE ->
     grant(x, R[x]);
     if
     :: alive[L[x]] -> pc[x] = MTXN; printf("n%d grants a reboot lease\n", x)
     :: else -> printf("n%d grants a reboot lease, but its session ended; no reboot\n", x); abandon(x)
     fi
  /* The move: one transaction, comparing the holder key (mod revision, lease) and the slot key (mod revision)
     with what was read, puts both on the reboot lease. Then the session's lease is revoked (it holds nothing). */
  :: pc[x] == MTXN ->
     if
     :: !alive[R[x]] -> p = 0; printf("n%d moves its keys to the reboot lease: lease not found\n", x)
     :: alive[R[x]] && hk[x] == L[x] && hk[x] != 0 && so[idx[x]] == x + 1 && sl[idx[x]] == L[x] ->
        hk[x] = R[x]; hreb[x] = 1; sl[idx[x]] = R[x];
        p = 1; printf("n%d moves its keys to the reboot lease: succeeded\n", x)
     :: else -> p = 0; printf("n%d moves its keys to the reboot lease: failed\n", x)
     fi;
#ifdef BUGGY_NO_SUCCEEDED_CHECK
     p = 1;
#endif
     if
     :: p == 1 ->
        if :: alive[L[x]] -> lk = L[x]; kill() :: else fi;
        L[x] = 0; ka[x] = 0; slot[x] = NOSLOT; pc[x] = CHECK
     :: else -> abandon(x)
     fi;
     idx[x] = 0; p = 0
  /* The fleet hears that the node goes down; right before the reboot command the holder key and the slot key are
     read again: this process's, on the reboot lease it moved them to (the command starts in the same step). */
  :: pc[x] == CHECK ->
#ifdef BUGGY_NO_REREAD
     pc[x] = REBOOT; printf("n%d runs the reboot command\n", x)
#else
     slotOf(x);
     if
     :: hk[x] != 0 && hk[x] == R[x] && hmine[x] && idx[x] != NOSLOT ->
        pc[x] = REBOOT; printf("n%d reads its keys: its own; runs the reboot command\n", x)
     :: else -> printf("n%d reads its keys: not its own now; no reboot\n", x); abandon(x)
     fi;
     idx[x] = 0
#endif
  /* REBOOT: the node goes down and comes back (or the command fails: `decline` below). A new process finds the
     record and a new boot id; the post-boot gate passes and it releases (releaseAfterReboot). */
  :: pc[x] == REBOOT ->
#ifdef LIVE
     need[x]--;
#endif
     newBoot(x); ab[x] = 1; pc[x] = RREAD; printf("n%d is back, the post-boot gate passes\n", x)

  /* The release by reading: the holder key (left alone when it is not this caller's to free) and the slot key
     naming the node on its lease, then one transaction that deletes them only as they were read. Then the
     record goes. */
  :: pc[x] == RREAD ->
     if
     :: hk[x] == 0 || !owned(x) ->
        printf("n%d releases: nothing of its own to delete\n", x);
        rec[x] = 0; rcur[x] = 0; forget(x); pc[x] = IDLE
     :: else ->
#ifdef BUGGY_RELEASE
        /* by value alone */
        idx[x] = NOSLOT; i = 0;
        do
        :: i < SLOTS -> if :: so[i] == x + 1 -> idx[x] = i :: else fi; i++
        :: else -> break
        od;
        i = 0;
#else
        slotOf(x);
#endif
        pc[x] = RTXN; printf("n%d releases: reads its keys (slot %d)\n", x, idx[x])
     fi
  :: pc[x] == RTXN ->
#ifdef BUGGY_RELEASE
     /* no comparison */
     if :: idx[x] != NOSLOT -> so[idx[x]] = 0; sl[idx[x]] = 0 :: else fi;
     hk[x] = 0; hmine[x] = 0; hreb[x] = 0; hcur[x] = 0;
     printf("n%d releases: deletes holders/n%d and slots/%d\n", x, x, idx[x]);
     rec[x] = 0; rcur[x] = 0; forget(x); pc[x] = IDLE
#else
     if
     :: hk[x] != 0 && (idx[x] == NOSLOT || (so[idx[x]] == x + 1 && sl[idx[x]] == hk[x])) ->
        printf("n%d releases: deletes holders/n%d and slots/%d\n", x, x, idx[x]);
        deleteHolder(x); rec[x] = 0; rcur[x] = 0; forget(x); pc[x] = IDLE
     :: hk[x] != 0 && !(idx[x] == NOSLOT || (so[idx[x]] == x + 1 && sl[idx[x]] == hk[x])) ->
        printf("n%d releases: its keys changed, reads again\n", x); pc[x] = RREAD
     :: hk[x] == 0 ->
        printf("n%d releases: its keys are gone\n", x); rec[x] = 0; rcur[x] = 0; forget(x); pc[x] = IDLE
     fi
#endif

  /* After a crash, the new process. With a record of this boot: the reboot command was interrupted or is still
     to come, and while the slot is kept for it (phase rebooting, this boot) nothing happens (KEPT); then the
     record goes. With a record of an earlier boot: the post-boot gate, then releaseAfterReboot. Without one, a
     pass. */
  :: pc[x] == CRASHED || pc[x] == KEPT ->
     if
     :: rec[x] && rcur[x] && hk[x] != 0 && hreb[x] && hcur[x] ->
        if :: pc[x] == CRASHED -> printf("n%d restarts: a reboot of this boot is recorded and its slot kept: waits\n", x) :: else fi;
        pc[x] = KEPT
     :: rec[x] && rcur[x] && !(hk[x] != 0 && hreb[x] && hcur[x]) ->
        printf("n%d restarts: a reboot of this boot is recorded, its slot is gone: the record goes\n", x);
        rec[x] = 0; rcur[x] = 0; pc[x] = IDLE
     :: rec[x] && !rcur[x] -> printf("n%d restarts after a new boot, the post-boot gate passes\n", x); ab[x] = 1; pc[x] = RREAD
     :: !rec[x] -> printf("n%d restarts\n", x); pc[x] = IDLE
     fi
  fi
}

/* The checks under the lock say no (HOLD), or the reboot command fails (REBOOT): the record goes, the slot is
   released. */
inline decline(x) {
  if
  :: pc[x] == HOLD -> printf("n%d: the checks under the lock say no\n", x)
  :: else -> printf("n%d: the reboot command failed\n", x); rec[x] = 0; rcur[x] = 0
  fi;
  release(x)
}

proctype node(byte n) {
end:
  do
  :: d_step { pc[n] != DONE -> step(n); settle() }
#if SLOTS > 1
  /* A node that did not queue takes the other free slot. */
#ifdef LIVE
  :: d_step { pc[n] == IDLE && need[n] > 0 -> acquireRead(n, 1); settle() }
#else
  :: d_step { pc[n] == IDLE -> acquireRead(n, 1); settle() }
#endif
#endif
#ifdef LIVE
  :: d_step { (pc[n] == HOLD || pc[n] == REBOOT) && FAULT -> BUMP; decline(n); settle() }
#else
  :: d_step { pc[n] == HOLD || pc[n] == REBOOT -> decline(n); settle() }
#endif
  /* A crash of the rc process, or of the node (a new boot), anywhere but while down for the reboot: the leases
     stay until they end. */
  :: d_step { pc[n] != REBOOT && pc[n] != CRASHED && pc[n] != DONE && FAULT ->
       BUMP; printf("n%d: rc crashes\n", n); forget(n); pc[n] = CRASHED; settle() }
  :: d_step { pc[n] != REBOOT && pc[n] != CRASHED && pc[n] != DONE && FAULT ->
       BUMP; printf("n%d: the node crashes\n", n); newBoot(n); pc[n] = CRASHED; settle() }
  od
}

/* The leases, the environment: one nobody refreshes may end at any moment, one still refreshed only as a fault
   (its node stopped or slow past the ttl). The printed owner is the node the lease's id belongs to. */
#define UNKEPT(x) :: alive[x] && !kept(x) -> e = x
#define KEPT(x)   :: FAULT && alive[x] && kept(x) -> e = x

active proctype leases() {
  byte e;
end:
  do
  :: atomic {
       if
       UNKEPT(1) UNKEPT(2) UNKEPT(3) UNKEPT(4) UNKEPT(5) UNKEPT(6)
       UNKEPT(7) UNKEPT(8) UNKEPT(9) UNKEPT(10) UNKEPT(11) UNKEPT(12)
       fi;
       d_step { printf("a lease of n%d ends\n", (e - 1) / LPN); lk = e; e = 0; kill(); settle() }
     }
  :: atomic {
       if
       KEPT(1) KEPT(2) KEPT(3) KEPT(4) KEPT(5) KEPT(6)
       KEPT(7) KEPT(8) KEPT(9) KEPT(10) KEPT(11) KEPT(12)
       fi;
       d_step {
         BUMP; printf("a refreshed lease of n%d ends (the node is slow)\n", (e - 1) / LPN);
         lk = e; e = 0; kill(); settle()
       }
     }
  od
}

init {
  atomic {
    pc[0] = IDLE; pc[1] = IDLE; pc[2] = IDLE;
    slot[0] = NOSLOT; slot[1] = NOSLOT; slot[2] = NOSLOT;
    need[0] = 1; need[1] = 1; need[2] = 1;
    run node(0); run node(1); run node(2)
  }
}

#ifdef LIVE
/* Node 0 (the nodes are alike) in line is let through: it eventually holds a slot. */
ltl waiter { [] ((wq[0] > 0) -> <> (hk[0] != 0)) }
/* Every node eventually rebooted once and gave its slot back. */
ltl done { <> (pc[0] == DONE && pc[1] == DONE && pc[2] == DONE) }
#endif

//! The C-named sugar over [`Head`](crate::raw::Head): one `macro_rules!` per QEMU `*_RCU` macro,
//! each a single call of the method its name says. They are documented once, in the table of the
//! [`raw` module](crate::raw#the-c-named-macros).

/// `QTAILQ_INSERT_HEAD_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::insert_head(&$head, $elm)
    };
}

/// `QLIST_INSERT_HEAD_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QListHead<_> as $crate::raw::Head>::insert_head(&$head, $elm)
    };
}

/// `QSIMPLEQ_INSERT_HEAD_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::insert_head(&$head, $elm)
    };
}

/// `QSLIST_INSERT_HEAD_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSListHead<_> as $crate::raw::Head>::insert_head(&$head, $elm)
    };
}

/// `QTAILQ_INSERT_TAIL_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_insert_tail_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::insert_tail(&$head, $elm)
    };
}

/// `QSIMPLEQ_INSERT_TAIL_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_insert_tail_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::insert_tail(&$head, $elm)
    };
}

/// `QTAILQ_INSERT_AFTER_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::insert_after(&$head, $listelm, $elm)
    };
}

/// `QLIST_INSERT_AFTER_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        <$crate::raw::QListHead<_> as $crate::raw::Head>::insert_after(&$head, $listelm, $elm)
    };
}

/// `QSIMPLEQ_INSERT_AFTER_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::insert_after(&$head, $listelm, $elm)
    };
}

/// `QSLIST_INSERT_AFTER_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSListHead<_> as $crate::raw::Head>::insert_after(&$head, $listelm, $elm)
    };
}

/// `QTAILQ_INSERT_BEFORE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_insert_before_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::insert_before(&$head, $listelm, $elm)
    };
}

/// `QLIST_INSERT_BEFORE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_insert_before_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        <$crate::raw::QListHead<_> as $crate::raw::Head>::insert_before(&$head, $listelm, $elm)
    };
}

/// `QTAILQ_REMOVE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::remove(&$head, $elm)
    };
}

/// `QLIST_REMOVE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QListHead<_> as $crate::raw::Head>::remove(&$head, $elm)
    };
}

/// `QSIMPLEQ_REMOVE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::remove(&$head, $elm)
    };
}

/// `QSLIST_REMOVE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        <$crate::raw::QSListHead<_> as $crate::raw::Head>::remove(&$head, $elm)
    };
}

/// `QSIMPLEQ_REMOVE_HEAD_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_remove_head_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::remove_head(&$head)
    };
}

/// `QSLIST_REMOVE_HEAD_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_remove_head_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QSListHead<_> as $crate::raw::Head>::remove_head(&$head)
    };
}

/// `QTAILQ_FIRST_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_first_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::first(&$head)
    };
}

/// `QLIST_FIRST_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_first_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QListHead<_> as $crate::raw::Head>::first(&$head)
    };
}

/// `QSIMPLEQ_FIRST_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_first_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::first(&$head)
    };
}

/// `QSLIST_FIRST_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_first_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QSListHead<_> as $crate::raw::Head>::first(&$head)
    };
}

/// `QTAILQ_NEXT_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        <$crate::raw::QTailqHead<$adapter> as $crate::raw::Head>::next($elm)
    };
}

/// `QLIST_NEXT_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        <$crate::raw::QListHead<$adapter> as $crate::raw::Head>::next($elm)
    };
}

/// `QSIMPLEQ_NEXT_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        <$crate::raw::QSimpleqHead<$adapter> as $crate::raw::Head>::next($elm)
    };
}

/// `QSLIST_NEXT_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        <$crate::raw::QSListHead<$adapter> as $crate::raw::Head>::next($elm)
    };
}

/// `QTAILQ_EMPTY_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_empty_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QTailqHead<_> as $crate::raw::Head>::is_empty(&$head)
    };
}

/// `QLIST_EMPTY_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_empty_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QListHead<_> as $crate::raw::Head>::is_empty(&$head)
    };
}

/// `QSIMPLEQ_EMPTY_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_empty_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::is_empty(&$head)
    };
}

/// `QSLIST_EMPTY_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_empty_rcu {
    ($head:expr $(,)?) => {
        <$crate::raw::QSListHead<_> as $crate::raw::Head>::is_empty(&$head)
    };
}

/// `QTAILQ_FOREACH_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QTailqHead<_> as $crate::raw::Head>::iter(&$head) $body
    };
}

/// `QLIST_FOREACH_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QListHead<_> as $crate::raw::Head>::iter(&$head) $body
    };
}

/// `QSIMPLEQ_FOREACH_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::iter(&$head) $body
    };
}

/// `QSLIST_FOREACH_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QSListHead<_> as $crate::raw::Head>::iter(&$head) $body
    };
}

/// `QTAILQ_FOREACH_SAFE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qtailq_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QTailqHead<_> as $crate::raw::Head>::iter_safe(&$head) $body
    };
}

/// `QLIST_FOREACH_SAFE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qlist_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QListHead<_> as $crate::raw::Head>::iter_safe(&$head) $body
    };
}

/// `QSIMPLEQ_FOREACH_SAFE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qsimpleq_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QSimpleqHead<_> as $crate::raw::Head>::iter_safe(&$head) $body
    };
}

/// `QSLIST_FOREACH_SAFE_RCU`: see the table in [`raw`](crate::raw#the-c-named-macros).
#[macro_export]
macro_rules! qslist_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in <$crate::raw::QSListHead<_> as $crate::raw::Head>::iter_safe(&$head) $body
    };
}

use std::time::Instant;
use wpool::Context;
#[test]
fn prof() {
    std::thread::Builder::new().stack_size(2<<20).spawn(|| {
    let t = Instant::now();
    let mut chain = Vec::with_capacity(1_000_000);
    chain.push(Context::with_cancel(&Context::background()));
    for _ in 1..1_000_000 { let n = Context::with_cancel(chain.last().unwrap()); chain.push(n); }
    eprintln!("build {:?}", t.elapsed());
    let t = Instant::now();
    chain[0].cancel();
    eprintln!("cancel {:?}", t.elapsed());
    let t = Instant::now();
    let mut it = chain.into_iter(); let root = it.next().unwrap(); it.for_each(drop);
    eprintln!("drop {:?}", t.elapsed());
    drop(root);
    let t = Instant::now();
    let mut chain = Vec::with_capacity(1_000_000);
    chain.push(Context::with_cancel(&Context::background()));
    for _ in 1..1_000_000 { let n = Context::with_cancel(chain.last().unwrap()); chain.push(n); }
    eprintln!("build {:?}", t.elapsed());
    let t = Instant::now();
    let mut it = chain.into_iter(); let root = it.next().unwrap(); it.for_each(drop);
    eprintln!("live drop {:?}", t.elapsed());
    }).unwrap().join().unwrap();
}

// Loaded on every page: mark that JS runs (progressive enhancement hooks off this class).
document.documentElement.classList.remove("sr-no-js");
document.documentElement.classList.add("sr-js");

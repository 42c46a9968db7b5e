// Trash: restore items through the API.
import { api } from "./api.js";

for (const button of document.querySelectorAll("[data-restore]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", `/api/v1/trash/${button.dataset.restore}/restore`);
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      button.textContent = `Restore failed: ${error.message}`;
    }
  });
}
